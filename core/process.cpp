// See process.h.
#include "core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/fs.h"

extern char** environ;

namespace fracsweep::core {

ProcessResult run_process(const std::vector<std::string>& argv) {
  CHECK_OR_THROW(core::InternalError, !argv.empty(), "run_process needs a program");
  int out_pipe[2], err_pipe[2];
  CHECK_OR_THROW(core::IoError, ::pipe2(out_pipe, O_CLOEXEC) == 0, "pipe: ", std::strerror(errno));
  core::UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  CHECK_OR_THROW(core::IoError, ::pipe2(err_pipe, O_CLOEXEC) == 0, "pipe: ", std::strerror(errno));
  core::UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  CHECK_OR_THROW(core::IoError, rc == 0, argv[0], ": cannot run it: ", std::strerror(rc),
                 rc == ENOENT ? " (is it installed and on PATH?)" : "");
  out_w.close();  // the child holds its own copies; EOF comes when it exits
  err_w.close();

  ProcessResult result;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  for (int open = 2; open > 0;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[k]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[k].fd = -1;
        --open;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace fracsweep::core
