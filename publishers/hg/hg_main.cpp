// hydrant-hg: Mercurial pushes onto the bus as hgpushes v2 messages (hg_push.hpp), either from
// the server itself (`hook`, a changegroup hook: hg_hook.cpp) or from outside by following a
// repository's json-pushes (`poll`: hg_poll.cpp). This file parses the mode and its flags.
#include <cstring>
#include <vector>

#include "hg_modes.hpp"
#include "input.hpp"
#include "options.hpp"

using namespace hydrant::publishers;
using namespace hydrant::publishers::hg;

namespace {

constexpr const char* kUsage = R"(hydrant-hg: Mercurial pushes onto an exchange (hgpushes v2 messages)
usage: hydrant-hg hook --client-id NAME [--token-file FILE] [--repo-root DIR] [--base-url URL] ...
         run by Mercurial as a changegroup hook; exits 0 once the broker confirmed the push
       hydrant-hg poll --client-id NAME --url https://hg.mozilla.org/REPO [--state-file FILE]
                       [--interval SECS] [--once] [--from-start] ...
         follows REPO/json-pushes and publishes each new push in push id order
topic: exchange/<client-id>/<exchange>/<repository path, one level: integration%2Fautoland>
)";

int usage_error(const char* what) {
  std::fprintf(stderr, "hydrant-hg: %s\n", what);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "--help" || mode == "-h") {
    std::fputs(kUsage, stdout);
    std::fputs("see `hydrant-hg hook --help` and `hydrant-hg poll --help` for the flags\n", stdout);
    return kExitOk;
  }
  if (mode != "hook" && mode != "poll") return usage_error("the first argument is the mode: hook or poll (see --help)");
  // parse_options() reads from argv[1]: hand it the flags after the mode.
  std::vector<char*> rest{argv[0]};
  rest.insert(rest.end(), argv + 2, argv + argc);
  const int rest_argc = static_cast<int>(rest.size());

  HookOptions ho;
  PollOptions po;
  CommonOptions co;
  try {
    if (mode == "hook") {
      co = parse_options(rest_argc, rest.data(), kUsage,
          {{"repo-path", "the repository (default: the current directory, where Mercurial runs hooks)", true,
            [&](auto v) { ho.repo_path = v; }},
           {"repo-root", "the directory the repositories are under; the routing key is the path below it "
                         "(default: the repository's directory name)", true, [&](auto v) { ho.repo_root = v; }},
           {"base-url", "the public URL of --repo-root (https://hg.mozilla.org): repo_url = URL/<path> "
                        "(default: file://<repository>)", true, [&](auto v) { ho.base_url = v; }},
           {"routing-key", "use this routing key instead of the repository's path", true,
            [&](auto v) { ho.routing_key = v; }},
           {"push-id", "the pushlog id (default: the pushlog extension's, through hg; else left out)", true,
            [&](auto v) { ho.push_id = parse_number("--push-id", v, 1, UINT64_MAX); }},
           {"push-user", "who pushed (default: pushlog's, else $REMOTE_USER, else $USER)", true,
            [&](auto v) { ho.push_user = std::string(v); }},
           {"push-date", "the push's time, epoch seconds (default: pushlog's, else now)", true,
            [&](auto v) { ho.push_date = static_cast<int64_t>(parse_number("--push-date", v, 0, INT64_MAX)); }},
           {"no-hg", "do not run hg (heads = HG_NODE_LAST; id, user, date from the flags)", false,
            [&](auto) { ho.use_hg = false; }},
           {"verbose", "log every step even when the push reached the bus (else one line)", false,
            [&](auto) { ho.verbose = true; }},
           {"timeout", "seconds to connect and be confirmed before exiting 3 (30)", true,
            [&](auto v) { ho.timeout = std::chrono::seconds(parse_number("--timeout", v, 1, 3600)); }}},
          "v2");
    } else {
      co = parse_options(rest_argc, rest.data(), kUsage,
          {{"url", "the repository: https://hg.mozilla.org/integration/autoland (required)", true,
            [&](auto v) { po.url = v; }},
           {"state-file", "where the last confirmed push id is kept (none: start at the newest push each run)",
            true, [&](auto v) { po.state_file = v; }},
           {"routing-key", "use this routing key instead of the URL's path", true,
            [&](auto v) { po.routing_key = v; }},
           {"interval", "seconds between requests (60)", true,
            [&](auto v) { po.interval = std::chrono::seconds(parse_number("--interval", v, 1, 86400)); }},
           {"http-timeout", "seconds to connect and to wait for each read (30)", true,
            [&](auto v) { po.http_timeout = std::chrono::seconds(parse_number("--http-timeout", v, 1, 3600)); }},
           {"batch", "pushes asked for per request (200)", true,
            [&](auto v) { po.batch = parse_number("--batch", v, 1, 10000); }},
           {"once", "fetch and publish what is new, wait for the broker's confirmation, exit", false,
            [&](auto) { po.once = true; }},
           {"from-start", "without a state file, publish from push 1 instead of starting at the newest",
            false, [&](auto) { po.from_start = true; }}},
          "v2");
      if (!po.url.starts_with("https://") && !po.url.starts_with("http://")) {
        throw UsageError("--url: an http:// or https:// repository URL is required");
      }
    }
  } catch (const UsageError& e) {
    return usage_error(e.what());
  }
  install_stop_signals();
  try {
    return mode == "hook" ? run_hook(ho, co) : run_poll(po, co);
  } catch (const std::exception& e) {  // control plane (state file, filesystem): one line, exit 1
    std::fprintf(stderr, "hydrant-hg %s: %s\n", mode.c_str(), e.what());
    return kExitFailed;
  }
}
