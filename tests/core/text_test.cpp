#include "core/text.h"

#include <gtest/gtest.h>

#include <vector>

namespace fracsweep::core {
namespace {

TEST(Text, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("epoch", "epochs"), 1u);
  EXPECT_EQ(edit_distance("modle", "model"), 2u);
}

TEST(Text, NearestKeyOnlyForLikelyTypos) {
  const std::vector<std::string> keys = {"epochs", "batch_size", "lr", "seed"};
  EXPECT_EQ(nearest_key("epoch", keys), "epochs");
  EXPECT_EQ(nearest_key("batchsize", keys), "batch_size");
  EXPECT_EQ(nearest_key("seeds", keys), "seed");
  EXPECT_EQ(nearest_key("learning_rate", keys), "");
  EXPECT_EQ(nearest_key("xy", keys), "");  // two edits from "lr": too far for a short key
  EXPECT_EQ(nearest_key("anything", std::vector<std::string>{}), "");
}

}  // namespace
}  // namespace fracsweep::core
