// `fracsweep bench search --stream FILE.json`: the search's decisions on a
// stream of results, timed per decision, for bench/search_vs_ray.py to set
// beside Ray Tune's ASHA and Optuna's TPE on the same inputs.
//
// The stream: {"eta", "grace", "max_t", "mode", "events": [[trial, iteration,
// value], ...], "tpe": {"trials", "startup", "seed"}}. ASHA sees the events
// in order; TPE proposes "trials" points of a quadratic in [-5, 5]^2 one
// after another (each told the value of those before it). The output JSON
// holds every decision and proposal and the seconds each took.
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/fs.h"
#include "sweeps/search.h"

namespace fracsweep::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double quadratic(double x, double y) { return (x - 1) * (x - 1) + (y + 2) * (y + 2); }

nlohmann::json run_asha(const nlohmann::json& s) {
  sweeps::Asha asha(s.at("eta").get<double>(), s.at("grace").get<int>(), s.at("max_t").get<int>(),
                    s.at("mode").get<std::string>() == "max");
  nlohmann::json decisions = nlohmann::json::array(), seconds = nlohmann::json::array();
  for (const auto& e : s.at("events")) {
    const int trial = e.at(0).get<int>(), iteration = e.at(1).get<int>();
    const double value = e.at(2).get<double>();
    const auto t = Clock::now();
    const bool go_on = asha.on_result(trial, iteration, value);
    seconds.push_back(seconds_since(t));
    decisions.push_back(go_on ? "continue" : "stop");
  }
  return {{"decisions", decisions}, {"seconds", seconds}};
}

nlohmann::json run_tpe(const nlohmann::json& s) {
  sweeps::SearchSpec spec;
  spec.trials = s.at("trials").get<int>();
  spec.startup_trials = s.at("startup").get<int>();
  spec.seed = s.at("seed").get<uint64_t>();
  spec.maximize = false;
  for (const char* key : {"x", "y"}) {
    sweeps::SearchParam p;
    p.key = std::string("train.") + key;
    p.low = -5;
    p.high = 5;
    spec.space.push_back(p);
  }
  const sweeps::Tpe tpe(spec);
  std::vector<sweeps::TrialOutcome> ended;
  nlohmann::json values = nlohmann::json::array(), seconds = nlohmann::json::array();
  for (int trial = 0; trial < spec.trials; ++trial) {
    const auto t = Clock::now();
    sweeps::ParamValues point = tpe.propose(trial, ended);
    seconds.push_back(seconds_since(t));
    const double v = quadratic(std::stod(point[0].second), std::stod(point[1].second));
    values.push_back(v);
    ended.push_back({trial, std::move(point), v, true, 1});
  }
  return {{"values", values}, {"seconds", seconds}};
}

}  // namespace

int bench_search(const Args& args) {
  namespace po = boost::program_options;
  std::string stream, out;
  po::options_description options(
      "usage: fracsweep bench search --stream FILE.json [--out RESULT.json]\n\n"
      "ASHA's decisions on a stream of results and TPE's proposals on a quadratic, each timed;\n"
      "bench/search_vs_ray.py writes the stream and compares with Ray Tune and Optuna.\n\n"
      "options");
  options.add_options()("help,h", "print this help")(
      "stream", po::value(&stream)->required(), "the stream (see bench/search_vs_ray.py)")(
      "out", po::value(&out), "where to write the decisions (default: standard output)");
  if (!parse_flags(args, options)) return kExitOk;
  const nlohmann::json s = nlohmann::json::parse(core::read_file(stream), nullptr, false);
  CHECK_OR_THROW(core::ConfigError, s.is_object() && s.contains("events"), stream,
                 ": not a search stream (a JSON object with eta, grace, max_t, mode, events)");
  nlohmann::json result = {{"asha", run_asha(s)}};
  if (s.contains("tpe")) result["tpe"] = run_tpe(s.at("tpe"));
  if (out.empty())
    std::cout << result.dump() << "\n";
  else
    core::write_file_atomic(out, result.dump());
  return kExitOk;
}

}  // namespace fracsweep::cli
