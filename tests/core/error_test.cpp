#include "core/error.h"

#include <gtest/gtest.h>

namespace fracsweep::core {
namespace {

TEST(Error, CheckOrThrowRaisesTheNamedTypeWithTheMessage) {
  const int seen = 7;
  try {
    CHECK_OR_THROW(ConfigError, seen < 5, "value ", seen, " is too large (max 4)");
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "value 7 is too large (max 4)");
  }
  EXPECT_NO_THROW(CHECK_OR_THROW(IoError, seen == 7, "unused"));
}

TEST(Error, SubclassesAreCaughtAsError) {
  EXPECT_THROW(CHECK_OR_THROW(CommError, false, "x"), Error);
  EXPECT_THROW(CHECK_OR_THROW(ClusterError, false, "x"), Error);
}

TEST(Error, InternalAssertSaysItIsABugAndWhere) {
  try {
    INTERNAL_ASSERT(1 + 1 == 3);
    FAIL() << "no exception";
  } catch (const InternalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("a bug in fracsweep"), std::string::npos) << what;
    EXPECT_NE(what.find("1 + 1 == 3"), std::string::npos) << what;
    EXPECT_NE(what.find("error_test.cpp"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace fracsweep::core
