// The hand-out protocol's messages survive their wire form, and a malformed
// one is reported as the bug it is.
#include "schedule/messages.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace fracsweep::schedule {
namespace {

TEST(Messages, ARequestWithItsReportRoundTrips) {
  JobRequest request{3, {6, 7}, "node-a", JobReport{12, Outcome::kStorage, {{"AUC", 0.75}}, "disk full", 4}};
  const Envelope e = encode(request);
  EXPECT_EQ(e.kind, MessageKind::kRequest);
  const nlohmann::json body = parse_body(e);
  EXPECT_EQ(sender_group(body), 3);
  const JobRequest back = decode_request(body);
  EXPECT_EQ(back.group, 3);
  EXPECT_EQ(back.ranks, (std::vector<int>{6, 7}));
  EXPECT_EQ(back.host, "node-a");
  ASSERT_TRUE(back.report);
  EXPECT_EQ(back.report->job, 12);
  EXPECT_EQ(back.report->outcome, Outcome::kStorage);
  EXPECT_EQ(back.report->metrics, (nlohmann::json{{"AUC", 0.75}}));
  EXPECT_EQ(back.report->error, "disk full");
  EXPECT_EQ(back.report->epoch, 4);
  EXPECT_FALSE(decode_request(parse_body(encode(JobRequest{0, {0}, "h", std::nullopt}))).report);
}

TEST(Messages, EveryOutcomeKeepsItsName) {
  for (Outcome o : {Outcome::kFinished, Outcome::kFailed, Outcome::kInterrupted, Outcome::kStorage,
                    Outcome::kStopped, Outcome::kPaused}) {
    const JobRequest r{0, {0}, "h", JobReport{1, o, nlohmann::json::object(), "", 0}};
    EXPECT_EQ(decode_request(parse_body(encode(r))).report->outcome, o) << outcome_name(o);
  }
}

TEST(Messages, ANonFiniteEpochResultTravelsAsNaN) {
  const EpochResult r{5, 2, std::numeric_limits<double>::infinity()};
  const Envelope e = encode_result(1, r);
  EXPECT_EQ(e.kind, MessageKind::kResult);
  const EpochResult back = decode_result(parse_body(e));
  EXPECT_EQ(back.job, 5);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_TRUE(std::isnan(back.value));
  EXPECT_DOUBLE_EQ(decode_result(parse_body(encode_result(1, {5, 2, 0.625}))).value, 0.625);
}

TEST(Messages, HeartbeatsRepliesAndAnswersRoundTrip) {
  const Heartbeat b = decode_heartbeat(parse_body(encode_heartbeat(2, {9, 3, 10, 40, 50})));
  EXPECT_EQ(b.job, 9);
  EXPECT_EQ(b.epoch, 3);
  EXPECT_EQ(b.epochs, 10);
  EXPECT_EQ(b.step, 40);
  EXPECT_EQ(b.steps, 50);
  const auto a = decode_reply(encode_reply(Assignment{4, {{"train.lr", 0.01}}}));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->job, 4);
  EXPECT_EQ(a->params, (nlohmann::json{{"train.lr", 0.01}}));
  EXPECT_FALSE(decode_reply(encode_reply(std::nullopt)));
  for (EpochAnswer answer : {EpochAnswer::kContinue, EpochAnswer::kStop, EpochAnswer::kPause})
    EXPECT_EQ(decode_answer(encode_answer(answer)), answer);
}

TEST(Messages, AMalformedMessageIsAnInternalError) {
  EXPECT_THROW(parse_body({MessageKind::kRequest, "{not json"}), core::InternalError);
  EXPECT_THROW(decode_request(nlohmann::json{{"group", 1}}), core::InternalError);
  EXPECT_THROW(sender_group(nlohmann::json{{"job", 1}}), core::InternalError);
  EXPECT_THROW(decode_answer({MessageKind::kAnswer, R"({"answer": 7})"}), core::InternalError);
  EXPECT_THROW(decode_request(parse_body({MessageKind::kRequest,
                                          R"({"group":0,"ranks":[0],"host":"h","report":{"job":1,"outcome":"lost","metrics":{},"error":""}})"})),
               core::InternalError);
}

}  // namespace
}  // namespace fracsweep::schedule
