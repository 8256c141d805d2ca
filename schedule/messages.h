// The hand-out protocol's vocabulary: what a group's leader and the sweep's
// coordinator say to each other, and how each message is written on the wire.
//
// A transport (schedule/transport.h) moves envelopes: a kind and a text body.
// MPI is one transport (launcher/mpi_transport.h), memory another
// (schedule/memory_transport.h); the coordinator and its clients
// (schedule/coordinator.h) speak only in these messages, so a second cluster
// backend needs a transport and nothing else.
//
//   leader -> coordinator   kRequest  {"group", "ranks", "host", "report"?}
//                           kHeartbeat {"group", "job", "epoch", "epochs", "step", "steps"}
//                           kResult   {"group", "job", "epoch", "value"}   (value NaN: null)
//   coordinator -> leader   kReply    {"job": index or -1, "params"}
//                           kAnswer   {"answer": 0 continue, 1 stop, 2 pause}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fracsweep::schedule {

// kStorage: the job could not write to its folder (a full disk, an I/O error);
// like kInterrupted it stops the hand-out, and the job resumes on a rerun.
// kStopped: the search stopped the job after JobReport::epoch; kPaused: it
// paused the job there (checkpointed, to be handed out again later).
enum class Outcome { kFinished, kFailed, kInterrupted, kStorage, kStopped, kPaused };
const char* outcome_name(Outcome outcome);

// What a leader says about the job it ran.
struct JobReport {
  int job = -1;  // index into the coordinator's job list
  Outcome outcome = Outcome::kFinished;
  nlohmann::json metrics = nlohmann::json::object();  // kFinished
  std::string error;                                  // kFailed, kStorage
  int epoch = 0;                                      // kStopped, kPaused
};

// A job handed to a group, with the values of its search trial (an empty
// object outside a search).
struct Assignment {
  int job = -1;
  nlohmann::json params = nlohmann::json::object();
};

// A running job's validation result after an epoch (the search's metric).
struct EpochResult {
  int job = -1;
  int epoch = 0;
  double value = 0;  // NaN when the metric was not finite
};

// The coordinator's answer to an epoch's result.
enum class EpochAnswer { kContinue = 0, kStop = 1, kPause = 2 };

// Where a running job stands, sent by its leader now and then.
struct Heartbeat {
  int job = -1;
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0;
};

// A leader's request for its group's next job, with the outcome of the last one.
struct JobRequest {
  int group = 0;
  std::vector<int> ranks;  // the group's world ranks, leader first
  std::string host;        // the leader's
  std::optional<JobReport> report;
};

enum class MessageKind { kRequest = 1, kHeartbeat = 2, kReply = 3, kResult = 4, kAnswer = 5 };

// One message as a transport carries it.
struct Envelope {
  MessageKind kind = MessageKind::kRequest;
  std::string body;
};

// Leader -> coordinator.
Envelope encode(const JobRequest& request);
Envelope encode_heartbeat(int group, const Heartbeat& beat);
Envelope encode_result(int group, const EpochResult& result);
// Coordinator -> leader.
Envelope encode_reply(const std::optional<Assignment>& job);
Envelope encode_answer(EpochAnswer answer);

// A message's body as JSON; throws core::InternalError when it is not JSON.
nlohmann::json parse_body(const Envelope& envelope);
// The sending group of a leader's message (any kind that goes up).
int sender_group(const nlohmann::json& body);
// Each throws core::InternalError when the body is not of its kind's form:
// both ends are the same program, so a malformed message is a bug.
JobRequest decode_request(const nlohmann::json& body);
Heartbeat decode_heartbeat(const nlohmann::json& body);
EpochResult decode_result(const nlohmann::json& body);
std::optional<Assignment> decode_reply(const Envelope& envelope);
EpochAnswer decode_answer(const Envelope& envelope);

}  // namespace fracsweep::schedule
