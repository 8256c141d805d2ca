// See exporter.h.
#include "cli/exporter.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace fracsweep::cli {
namespace {

namespace fs = std::filesystem;

std::string python() {
  if (const char* env = std::getenv("FRACSWEEP_PYTHON"); env != nullptr && *env != '\0')
    return env;
  return FRACSWEEP_CONFIGURED_PYTHON;
}

std::string script() {
  std::vector<fs::path> places = {FRACSWEEP_EXPORT_SCRIPT};
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    places.push_back(self.parent_path().parent_path() / "share" / "fracsweep" / "python" /
                     "fracsweep_export.py");
  for (const fs::path& p : places)
    if (fs::exists(p)) return p.string();
  throw core::ConfigError(core::str_cat(
      "the exporter (python/fracsweep_export.py) is neither at ", places.front().string(),
      " nor beside this fracsweep; run fracsweep from its build tree or install it"));
}

// fork + exec of `argv`; stdout into `out` when given, else inherited. Returns the exit code.
int spawn(const std::vector<std::string>& argv, std::string* out) {
  int pipe_fds[2] = {-1, -1};
  if (out != nullptr && ::pipe(pipe_fds) != 0)
    throw core::Error(core::str_cat("cannot start the exporter: pipe: ", std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid < 0) throw core::Error(core::str_cat("cannot start the exporter: ", std::strerror(errno)));
  if (pid == 0) {
    if (out != nullptr) {
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "fracsweep export: cannot start %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  if (out != nullptr) {
    ::close(pipe_fds[1]);
    char buf[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      out->append(buf, static_cast<size_t>(n));
    }
    ::close(pipe_fds[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::vector<std::string> exporter_command(const Args& args) {
  const std::string py = python();
  CHECK_OR_THROW(core::ConfigError, ::access(py.c_str(), X_OK) == 0, "the project's Python '", py,
                 "' is not there (it runs the exporter, with torch); run scripts/setup.sh, or set "
                 "FRACSWEEP_PYTHON to a Python that has torch ", FRACSWEEP_EXPORT_TORCH);
  std::vector<std::string> argv = {py, script()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

int run_exporter(const Args& args) { return spawn(exporter_command(args), nullptr); }

std::string run_exporter_for_output(const Args& args, int* exit_code) {
  std::string out;
  *exit_code = spawn(exporter_command(args), &out);
  return out;
}

int run_export(const Args& args) {
  const std::vector<std::string> argv = exporter_command(args);
  std::vector<char*> words;
  for (const std::string& a : argv) words.push_back(const_cast<char*>(a.c_str()));
  words.push_back(nullptr);
  ::execv(words[0], words.data());  // the same process: signals and exit code pass through
  throw core::Error(core::str_cat("cannot start ", argv[0], ": ", std::strerror(errno)));
}

}  // namespace fracsweep::cli
