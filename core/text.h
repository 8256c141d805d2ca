// Small text helpers for error messages.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace fracsweep::core {

// Levenshtein distance (insertions, deletions, substitutions), byte-wise.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `key` by edit distance, if it is close enough to be
// a likely typo (one edit for keys of up to 3 characters, else a third of the
// key's length but at least 2); else "".
std::string nearest_key(std::string_view key, std::span<const std::string> candidates);

}  // namespace fracsweep::core
