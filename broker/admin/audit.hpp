// The audit trail: one line per administrative action, appended to <data>/audit.log (and logged),
// whoever made it (a subcommand or the admin API).
#pragma once

#include <string>
#include <string_view>

namespace hydrant::admin {

// Appends `{"time":...,"by":by,"action":action,"target":target,"detail":detail}` to
// <data_dir>/audit.log and logs the same. Never throws: a failed write is logged as an error.
void audit(const std::string& data_dir, std::string_view by, std::string_view action,
           std::string_view target, std::string_view detail = {});

}  // namespace hydrant::admin
