// See text.h.
#include "core/text.h"

#include <algorithm>
#include <vector>

namespace fracsweep::core {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string nearest_key(std::string_view key, std::span<const std::string> candidates) {
  // Short keys allow one edit; longer ones a third of their length, and at
  // least two, so a swapped pair of letters ("modle") is still found.
  const size_t limit = key.size() <= 3 ? 1 : std::max<size_t>(2, key.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(key, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace fracsweep::core
