// The administration subcommands of `hydrant` (issue 5): users, their access tokens, signed
// tokens. They change the files in the data directory (users.json under users.lock); a broker
// running on that directory watches the file and applies the change at once (and closes the
// connections of a deleted user or a rotated token). Each action leaves an audit line in
// <data>/audit.log and on stderr. Output is for people, or JSON with --json; a new token is
// printed alone on the last line of stdout so scripts can take it with `tail -n1`.
#pragma once

namespace hydrant::admin {

// True when argv[1] names an administration subcommand (user, token, queue, exchange,
// connections).
bool is_admin_command(int argc, const char* const* argv);

// Runs it; returns the exit status (0 ok, 1 refused: e.g. the user exists, 2 usage error).
int run_admin_command(int argc, const char* const* argv);

}  // namespace hydrant::admin
