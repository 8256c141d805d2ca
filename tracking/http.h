// HTTP requests for the MLflow client: a narrow interface tests can fake, and
// its libcurl implementation.
#pragma once

#include <memory>
#include <string>

namespace fracsweep::tracking {

struct HttpResponse {
  long status = 0;     // HTTP status; 0 when no answer came (error says why)
  std::string body;
  std::string error;   // the transport's error (refused, timed out, ...), else empty
  bool answered() const { return status != 0; }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // `method` GET, POST or PUT; `body` sent as `content_type` (none for GET).
  // Never throws for network failures: they come back in HttpResponse::error.
  virtual HttpResponse request(const std::string& method, const std::string& url,
                               const std::string& body, const std::string& content_type) = 0;
};

struct HttpTimeouts {
  // Connecting: a server that is down answers "refused" at once; one that is
  // unreachable would otherwise hold the sender for minutes.
  long connect_ms = 2000;
  // The whole request, upload included: artifacts are the job's result files (MBs).
  long total_ms = 30000;
};

// libcurl, one easy handle per client (reused, so connections are kept alive).
// Not thread-safe: one client per thread.
std::unique_ptr<HttpClient> make_curl_client(const HttpTimeouts& timeouts = {});

}  // namespace fracsweep::tracking
