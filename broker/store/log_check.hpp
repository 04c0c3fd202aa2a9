// Offline check and repair of a message log (issue 13): `hydrant store check` and
// `hydrant store repair`. Start-up refuses damage anywhere but a torn last write; these let an
// operator see exactly what is damaged and go on without it, losing nothing else.
//
// check reads every segment and lists each damaged byte range with the sequences around it.
// repair moves each damaged segment, as it was, into <log>/damaged/<unix ms>/ (nothing is ever
// deleted) and writes in its place a segment of every intact record: those before the damage
// and those after it that resynchronise (a whole record with a valid checksum and a sequence
// that fits). Run both on a stopped broker's <data>/log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hydrant::store {

struct LogDamage {
  std::string file;
  uint64_t offset = 0;           // bytes [offset, end) of the file are damaged
  uint64_t end = 0;
  uint64_t after_sequence = 0;   // the last intact record before it (0: none)
  uint64_t before_sequence = 0;  // the first intact record after it (0: none, to the end)
  std::string what;
};

struct LogCheck {
  uint64_t segments = 0;
  uint64_t records = 0;  // intact ones
  std::vector<LogDamage> damage;
};

// Throws StoreError when the directory cannot be read.
LogCheck check_log(const std::string& dir);

struct LogRepair {
  LogCheck found;
  std::string aside;                 // where the damaged segments went ("" when none)
  std::vector<std::string> rewritten;  // segments written again with their intact records
};

// Throws StoreError when a step fails (what was done so far is consistent: each segment is
// replaced atomically, its original kept aside first).
LogRepair repair_log(const std::string& dir);

}  // namespace hydrant::store
