// See messages.h.
#include "schedule/messages.h"

#include <limits>

#include "core/error.h"

namespace fracsweep::schedule {
namespace {

Outcome parse_outcome(const std::string& s) {
  for (Outcome o : {Outcome::kFinished, Outcome::kFailed, Outcome::kInterrupted, Outcome::kStorage,
                    Outcome::kStopped, Outcome::kPaused})
    if (s == outcome_name(o)) return o;
  throw core::InternalError(core::str_cat("unknown job outcome '", s, "'"));
}

// JSON cannot spell NaN; dump() writes it as null.
std::string dump(const nlohmann::json& m) {
  return m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// nlohmann's accessors throw its own exceptions; a malformed message is our bug.
template <typename F>
auto checked(const char* what, const nlohmann::json& body, F&& read) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    throw core::InternalError(core::str_cat("a malformed ", what, " message (", e.what(), "): ", body.dump()));
  }
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kFinished: return "finished";
    case Outcome::kFailed: return "failed";
    case Outcome::kInterrupted: return "interrupted";
    case Outcome::kStorage: return "storage";
    case Outcome::kStopped: return "stopped";
    case Outcome::kPaused: return "paused";
  }
  return "?";
}

Envelope encode(const JobRequest& request) {
  nlohmann::json m = {{"group", request.group}, {"ranks", request.ranks}, {"host", request.host}};
  if (const auto& r = request.report) {
    m["report"] = {{"job", r->job},
                   {"outcome", outcome_name(r->outcome)},
                   {"metrics", r->metrics},
                   {"error", r->error},
                   {"epoch", r->epoch}};
  }
  return {MessageKind::kRequest, dump(m)};
}

Envelope encode_heartbeat(int group, const Heartbeat& b) {
  const nlohmann::json m = {{"group", group},       {"job", b.job},   {"epoch", b.epoch},
                            {"epochs", b.epochs}, {"step", b.step}, {"steps", b.steps}};
  return {MessageKind::kHeartbeat, m.dump()};
}

Envelope encode_result(int group, const EpochResult& r) {
  const nlohmann::json m = {{"group", group}, {"job", r.job}, {"epoch", r.epoch}, {"value", r.value}};
  return {MessageKind::kResult, dump(m)};
}

Envelope encode_reply(const std::optional<Assignment>& job) {
  const nlohmann::json m = job ? nlohmann::json{{"job", job->job}, {"params", job->params}}
                               : nlohmann::json{{"job", -1}};
  return {MessageKind::kReply, dump(m)};
}

Envelope encode_answer(EpochAnswer answer) {
  return {MessageKind::kAnswer, nlohmann::json{{"answer", static_cast<int>(answer)}}.dump()};
}

nlohmann::json parse_body(const Envelope& envelope) {
  try {
    return nlohmann::json::parse(envelope.body);
  } catch (const nlohmann::json::exception& e) {
    throw core::InternalError(
        core::str_cat("a hand-out message is not JSON (", e.what(), "): ", envelope.body));
  }
}

int sender_group(const nlohmann::json& body) {
  return checked("leader's", body, [&] { return body.at("group").get<int>(); });
}

JobRequest decode_request(const nlohmann::json& m) {
  return checked("job request", m, [&] {
    JobRequest request;
    request.group = m.at("group").get<int>();
    request.ranks = m.at("ranks").get<std::vector<int>>();
    request.host = m.at("host").get<std::string>();
    if (m.contains("report")) {
      const nlohmann::json& r = m["report"];
      JobReport report;
      report.job = r.at("job").get<int>();
      report.outcome = parse_outcome(r.at("outcome").get<std::string>());
      report.metrics = r.at("metrics");
      report.error = r.at("error").get<std::string>();
      report.epoch = r.value("epoch", 0);
      request.report = std::move(report);
    }
    return request;
  });
}

Heartbeat decode_heartbeat(const nlohmann::json& m) {
  return checked("heartbeat", m, [&] {
    return Heartbeat{m.at("job").get<int>(), m.at("epoch").get<int64_t>(), m.at("epochs").get<int64_t>(),
                     m.at("step").get<int64_t>(), m.at("steps").get<int64_t>()};
  });
}

EpochResult decode_result(const nlohmann::json& m) {
  return checked("epoch result", m, [&] {
    EpochResult r;
    r.job = m.at("job").get<int>();
    r.epoch = m.at("epoch").get<int>();
    r.value = m.at("value").is_number() ? m.at("value").get<double>()
                                        : std::numeric_limits<double>::quiet_NaN();
    return r;
  });
}

std::optional<Assignment> decode_reply(const Envelope& envelope) {
  INTERNAL_ASSERT(envelope.kind == MessageKind::kReply);
  const nlohmann::json m = parse_body(envelope);
  return checked("reply", m, [&]() -> std::optional<Assignment> {
    Assignment a;
    a.job = m.at("job").get<int>();
    if (a.job < 0) return std::nullopt;
    a.params = m.value("params", nlohmann::json::object());
    return a;
  });
}

EpochAnswer decode_answer(const Envelope& envelope) {
  INTERNAL_ASSERT(envelope.kind == MessageKind::kAnswer);
  const nlohmann::json m = parse_body(envelope);
  const int answer = checked("epoch answer", m, [&] { return m.at("answer").get<int>(); });
  CHECK_OR_THROW(core::InternalError, answer >= 0 && answer <= 2, "unknown epoch answer ", answer);
  return static_cast<EpochAnswer>(answer);
}

}  // namespace fracsweep::schedule
