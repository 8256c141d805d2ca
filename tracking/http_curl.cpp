// libcurl behind tracking/http.h.
#include <curl/curl.h>

#include <mutex>
#include <utility>

#include "core/error.h"
#include "tracking/http.h"

namespace fracsweep::tracking {
namespace {

// curl_global_init once per process, before the first handle (it is not
// thread-safe itself); never cleaned up, as other libraries may use curl too.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    CHECK_OR_THROW(core::Error, curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK,
                   "libcurl could not be initialised (curl_global_init)");
  });
}

// Owns one CURL easy handle. Move-only.
class CurlHandle {
 public:
  CurlHandle() : h_(curl_easy_init()) {
    CHECK_OR_THROW(core::Error, h_ != nullptr, "libcurl: curl_easy_init failed");
  }
  CurlHandle(CurlHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  CurlHandle& operator=(CurlHandle&&) = delete;
  CurlHandle(const CurlHandle&) = delete;
  ~CurlHandle() {
    if (h_) curl_easy_cleanup(h_);
  }
  CURL* get() const { return h_; }

 private:
  CURL* h_;
};

// Owns a curl_slist of headers.
class CurlHeaders {
 public:
  CurlHeaders() = default;
  CurlHeaders(const CurlHeaders&) = delete;
  CurlHeaders& operator=(const CurlHeaders&) = delete;
  ~CurlHeaders() { curl_slist_free_all(list_); }
  void add(const std::string& h) {
    curl_slist* next = curl_slist_append(list_, h.c_str());
    CHECK_OR_THROW(core::Error, next != nullptr, "libcurl: out of memory for a header");
    list_ = next;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

class CurlClient final : public HttpClient {
 public:
  explicit CurlClient(const HttpTimeouts& t) : timeouts_(t) {}

  HttpResponse request(const std::string& method, const std::string& url, const std::string& body,
                       const std::string& content_type) override {
    HttpResponse r;
    CURL* h = handle_.get();
    curl_easy_reset(h);
    CurlHeaders headers;
    if (!content_type.empty()) headers.add("Content-Type: " + content_type);
    headers.add("Expect:");  // no 100-continue round trip before an upload
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // a sender thread: no SIGALRM for timeouts
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeouts_.connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeouts_.total_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    if (method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      r.error = error[0] ? error : curl_easy_strerror(rc);
      return r;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

 private:
  HttpTimeouts timeouts_;
  CurlHandle handle_;
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_client(const HttpTimeouts& timeouts) {
  global_init();
  return std::make_unique<CurlClient>(timeouts);
}

}  // namespace fracsweep::tracking
