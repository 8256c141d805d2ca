// See handoff.h.
#include "cli/handoff.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace fracsweep::cli {

namespace fs = std::filesystem;

std::string sibling_executable(const Sibling& sibling) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  CHECK_OR_THROW(core::Error, !ec, "cannot find this executable's folder (/proc/self/exe: ",
                 ec.message(), "), so not ", sibling.name, " either");
  const fs::path beside = self.parent_path() / sibling.name;
  const fs::path installed =
      self.parent_path().parent_path() / "libexec" / "fracsweep" / sibling.name;
  for (const fs::path& p : {beside, installed})
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  throw core::Error(core::str_cat(
      sibling.what, " in ", sibling.name, ", which is neither at ", beside.string(), " nor at ",
      installed.string(), ": build it (scripts/setup.sh builds it with fracsweep) or install it "
      "beside fracsweep"));
}

int hand_off(const Sibling& sibling, const std::string& command, const Args& args) {
  const std::string exe = sibling_executable(sibling);
  std::vector<std::string> words{exe, command};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  ::execv(exe.c_str(), argv.data());
  throw core::Error(core::str_cat("cannot start ", exe, ": ", std::strerror(errno)));
}

}  // namespace fracsweep::cli
