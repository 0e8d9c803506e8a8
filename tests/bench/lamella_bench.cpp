// lamella_bench: cold start, warm per-invocation time and peak RSS of lamella's runtimes (C++,
// Python, Node) and of AWS's runtime interface clients through the emulator, with the floor
// client (tests/bench/floor_client.c) measured beside them in the same run. A benchmark, not a
// test: it prints JSON on stdout and a summary on stderr, and never fails on a missed goal. How to
// run it and how to read it: docs/performance.md.
#include "lamella/emulator.h"
#include "lamella/version.h"

#include <boost/json.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

// Goals from the issue; reported with the figures, never enforced.
constexpr double cold_ratio_goal = 2.0;    // C++ spawn->first /next, as a multiple of the floor's
constexpr double overhead_goal_us = 10.0;  // mean per-invocation time minus the floor's
constexpr std::size_t rss_goal_kb =
    std::size_t{6} * 1024;  // bootstrap peak RSS (VmHWM), strictly below

// Python and Node goals: lamella's runtime against AWS's runtime interface client (RIC) driving
// the same handler in the same run.
struct ric_goals {
  std::string_view prefix;    // the language's runtimes are named "<prefix>..."
  std::string_view ric;       // the RIC's runtime name
  std::string_view json_key;  // the comparison's key in a lamella runtime's JSON entry
  std::string_view language;  // for the goals' keys in the JSON
  double cold_goal;           // spawn->first response, lamella / RIC, at most
  double overhead_goal;       // own overhead (mean minus the floor's), lamella / RIC, at most
};
constexpr std::array<ric_goals, 2> ric_comparisons = {{
    {"python-", "python-awslambdaric", "vs_awslambdaric", "python", 0.5, 0.5},
    {"node-", "node-awslambdaric", "vs_aws_lambda_ric", "node", 0.8, 0.5},
}};

bool is_cpp(const std::string& name) { return name.starts_with("cpp-"); }
bool is_node(const std::string& name) { return name.starts_with("node-"); }

// ---------------------------------------------------------------------------------------------
// Options

struct options {
  fs::path build_dir;
  int cold = 30;     // cold starts per runtime
  int warm = 10000;  // measured warm invocations per runtime
  int warmup = 200;  // unmeasured warm invocations per runtime before the measured ones
  int rounds = 50;   // the warm invocations are split into this many alternating rounds
  std::size_t event_size = 1024;  // bytes of the JSON event
  std::vector<std::string> only;  // runtime names; empty = every runtime found
  std::vector<std::string> skip;  // runtime names not to measure
  std::string out;                // also write the JSON here
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(
      stderr,
      "lamella_bench: %s\n"
      "usage: lamella_bench [--build-dir DIR] [--cold K] [--warm N] [--warmup W]\n"
      "                     [--rounds R] [--event-size BYTES]\n"
      "                     [--only floor,cpp-beast,cpp-beast-hello,cpp-curl,python-lamella,\n"
      "                             python-lamella-m,python-awslambdaric,node-lamella,\n"
      "                             node-awslambdaric]\n"
      "                     [--skip NAME,...] [--out FILE]\n",
      message);
  std::exit(2);
}

std::vector<std::string> split(std::string_view list, char separator = ',') {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(separator);
    if (comma != 0) out.emplace_back(list.substr(0, comma));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

int positive(const char* flag, const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0 || value > 100'000'000) {
    usage((std::string(flag) + " takes a positive integer").c_str());
  }
  return static_cast<int>(value);
}

// The build tree the bench binary lives in: <build>/tests/bench/lamella_bench.
fs::path own_build_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::current_path();
  return self.parent_path().parent_path().parent_path();
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") usage("help");
    if (i + 1 >= argc) usage(("missing value for " + std::string(arg)).c_str());
    const char* value = argv[++i];
    if (arg == "--build-dir") {
      o.build_dir = value;
    } else if (arg == "--cold") {
      o.cold = positive("--cold", value);
    } else if (arg == "--warm") {
      o.warm = positive("--warm", value);
    } else if (arg == "--warmup") {
      o.warmup = positive("--warmup", value);
    } else if (arg == "--rounds") {
      o.rounds = positive("--rounds", value);
    } else if (arg == "--event-size") {
      o.event_size = static_cast<std::size_t>(positive("--event-size", value));
    } else if (arg == "--only") {
      o.only = split(value);
    } else if (arg == "--skip") {
      o.skip = split(value);
    } else if (arg == "--out") {
      o.out = value;
    } else {
      usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  if (o.build_dir.empty()) o.build_dir = own_build_dir();
  o.build_dir = fs::absolute(o.build_dir);
  o.rounds = std::min(o.rounds, o.warm);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Statistics

// Nearest-rank percentile of an unsorted sample (copied). `p` in [0, 100].
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank =
      static_cast<std::size_t>(std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(v.size()))));
  return v[std::min(rank, v.size()) - 1];
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double round_to(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// ---------------------------------------------------------------------------------------------
// One runtime under test, with its own emulator.

// Keeps the last lines the emulator logged (the runtime's output and REPORT lines), to explain a
// failure. Called on the emulator's thread.
class log_tail {
 public:
  void add(std::string_view line) {
    const std::lock_guard lock(mutex_);
    lines_.emplace_back(line);
    if (lines_.size() > 30) lines_.pop_front();
  }
  [[nodiscard]] std::string text() const {
    const std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& line : lines_) out += "  | " + line;
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<std::string> lines_;
};

struct cold_sample {
  double first_next_ms = 0;      // spawn -> first GET /next
  double first_response_ms = 0;  // spawn -> first response posted
  double invoke_ms = 0;          // invoke() called -> answer ready (includes the spawn)
  double rss_kb = 0;             // peak RSS of the fresh process after its first invocation
};

struct runtime_under_test {
  std::string name;
  fs::path executable;            // what the emulator starts
  std::vector<std::string> args;  // its arguments
  fs::path dir;                   // the function directory (the task root)
  std::string handler = "hello";
  std::unique_ptr<log_tail> log = std::make_unique<log_tail>();
  std::unique_ptr<lamella::emulator> emu;
  std::vector<cold_sample> cold;
  std::vector<double> warm_us;        // every measured warm invocation, in order
  std::vector<double> round_mean_us;  // mean of each warm round
  double warm_cpu_ns = 0;             // CPU time of the runtime process during the measured rounds
  std::size_t peak_rss_kb = 0;
  std::size_t shared_libraries = 0;  // distinct shared objects mapped in the warm process
  int warm_pid = 0;
  bool restarted = false;   // the warm process changed during the warm run (a crash)
  std::string process_exe;  // what the warm process runs (after any exec), from /proc/PID/exe
  std::string failure;      // why the runtime failed; empty = it did not
};

// A runtime failed: its figures are void. The run measures the others and reports this one as
// failed (with the emulator's last log lines).
class runtime_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void die(const runtime_under_test& rt, const std::string& what) {
  throw runtime_failure(what + "\nlast emulator log lines:\n" + rt.log->text());
}

lamella::invoke_request make_event(std::size_t size) {
  // {"name":"bench","pad":"xxx...x"} padded to exactly `size` bytes (when size allows).
  constexpr std::string_view head = R"({"name":"bench","pad":")";
  constexpr std::string_view tail = R"("})";
  lamella::invoke_request request;
  request.payload.assign(head);
  const std::size_t fixed = head.size() + tail.size();
  request.payload.append(size > fixed ? size - fixed : 0, 'x');
  request.payload.append(tail);
  return request;
}

// One invocation; dies unless it succeeded. Returns its wall time in microseconds.
double invoke_once(runtime_under_test& rt, const lamella::invoke_request& request) {
  const auto start = clock_type::now();
  const lamella::invoke_result result = rt.emu->invoke(request).get();
  const auto stop = clock_type::now();
  if (result.status != 200 || !result.function_error.empty()) {
    die(rt, "invocation failed with status " + std::to_string(result.status) + " " +
                result.function_error + ": " + result.body.substr(0, 300));
  }
  return std::chrono::duration<double, std::micro>(stop - start).count();
}

void start_emulator(runtime_under_test& rt) {
  lamella::function_config function;
  function.dir = rt.dir.empty() ? rt.executable.parent_path() : rt.dir;
  function.command = {rt.executable.string()};
  function.command.insert(function.command.end(), rt.args.begin(), rt.args.end());
  function.handler = rt.handler;
  function.name = "bench-" + rt.name;
  function.memory_mb = 128;
  function.timeout = std::chrono::seconds(30);  // generous: a slow sample is measured, not killed
  lamella::emulator_options emu_options;
  emu_options.invoke_endpoint = false;  // the bench calls invoke() in-process
  log_tail* tail = rt.log.get();
  emu_options.log = [tail](std::string_view line) { tail->add(line); };
  rt.emu = std::make_unique<lamella::emulator>(std::move(function), std::move(emu_options));
}

double ms_between(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Quiet time around reset(), outside every measured interval. Before: the warm runtime has sent
// its next GET /next and the emulator has parked it (reset() racing with that read can hand the
// next invocation to the killed runtime's connection). After: the killed process is torn down
// before the next one is spawned, so that the teardown does not compete with the start on a
// 2-core machine.
constexpr auto settle_time = std::chrono::milliseconds(20);

void cold_start(runtime_under_test& rt, const lamella::invoke_request& request) {
  std::this_thread::sleep_for(settle_time);
  rt.emu->reset();
  std::this_thread::sleep_for(settle_time);
  const auto start = clock_type::now();
  (void)invoke_once(rt, request);
  const double invoke_ms = ms_between(start, clock_type::now());
  const auto instance = rt.emu->last_instance();
  if (!instance || !instance->first_next || !instance->first_response) {
    die(rt, "the emulator recorded no first /next or first response for the cold start");
  }
  rt.cold.push_back({ms_between(instance->spawned, *instance->first_next),
                     ms_between(instance->spawned, *instance->first_response), invoke_ms,
                     static_cast<double>(instance->peak_rss_kb)});
}

// Distinct shared objects mapped into process `pid` (the program's own file excluded).
std::size_t count_shared_objects(int pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::set<std::string> objects;
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const auto name = fs::path(path).filename().string();
    if (name.find(".so") != std::string::npos) objects.insert(path);
  }
  return objects.size();
}

// The program process `pid` runs (after any exec), or empty.
std::string process_exe(int pid) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
}

// The PATH the emulator gives a runtime (Lambda's): lamella's bootstrap finds node on it, and the
// bench starts aws-lambda-ric with the same node.
constexpr std::string_view lambda_path = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin";

fs::path find_node() {
  for (const auto& dir : split(lambda_path, ':')) {
    const fs::path candidate = fs::path(dir) / "node";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal();
  }
  return {};
}

// The node the Node runtimes run: its path and `node --version`.
json::object node_info(const fs::path& node) {
  json::object o;
  o["path"] = node.string();
  std::string version;
  const std::string command = "'" + node.string() + "' --version 2>/dev/null";
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char line[64] = {};
    if (std::fgets(line, sizeof line, pipe) != nullptr) version = line;
    ::pclose(pipe);
  }
  while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
  o["version"] = version;
  return o;
}

// CPU time process `pid` has used so far (all threads), in nanoseconds, from the scheduler's
// accounting (/proc/PID/task/TID/schedstat, first field). Unlike wall time, it hardly moves
// when other programs compete for the CPU, so it shows the runtime's own cost through the noise.
double cpu_ns(int pid) {
  double total = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "schedstat");
    double ns = 0;
    if (in >> ns) total += ns;
  }
  return total;
}

// Machine-wide CPU time counters from /proc/stat, in clock ticks.
struct cpu_counters {
  double total = 0;
  double idle = 0;   // idle + iowait
  double steal = 0;  // time the hypervisor ran something else while this VM wanted the CPU
};

cpu_counters read_cpu_counters() {
  std::ifstream in("/proc/stat");
  std::string label;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return {user + nice + system + idle + iowait + irq + softirq + steal, idle + iowait, steal};
}

// How disturbed a phase was: steal time and busy time, as percentages of all CPU time.
json::object disturbance(const cpu_counters& before, const cpu_counters& after) {
  const double total = std::max(1.0, after.total - before.total);
  json::object o;
  o["steal_percent"] = round_to(100.0 * (after.steal - before.steal) / total, 1);
  o["busy_percent"] = round_to(
      100.0 * (total - (after.idle - before.idle) - (after.steal - before.steal)) / total, 1);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Machine description and output

std::string read_first_line_with(const char* file, std::string_view prefix) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line
                                        : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return {};
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

json::object machine_info() {
  json::object m;
  m["nproc"] = std::thread::hardware_concurrency();
  utsname u{};
  if (uname(&u) == 0) {
    m["kernel"] = std::string(u.sysname) + " " + u.release;
    m["arch"] = u.machine;
  }
  m["cpu"] = read_first_line_with("/proc/cpuinfo", "model name");
  std::string os = read_first_line_with("/etc/os-release", "PRETTY_NAME=");
  if (const auto eq = os.find('='); eq != std::string::npos) os.erase(0, eq + 1);
  os.erase(std::remove(os.begin(), os.end(), '"'), os.end());
  m["os"] = os;
  return m;
}

// Writes `v` as indented JSON (Boost.JSON only serialises compactly).
void pretty(std::ostream& os, const json::value& v, int indent = 0) {
  const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
  const std::string close(static_cast<std::size_t>(indent), ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      os << "{}";
      return;
    }
    os << "{\n";
    for (auto it = o.begin(); it != o.end(); ++it) {
      os << pad << json::serialize(json::string(it->key())) << ": ";
      pretty(os, it->value(), indent + 2);
      os << (std::next(it) == o.end() ? "\n" : ",\n");
    }
    os << close << "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    os << "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      os << pad;
      pretty(os, a[i], indent + 2);
      os << (i + 1 == a.size() ? "\n" : ",\n");
    }
    os << close << "]";
  } else if (v.is_double()) {
    // Boost.JSON writes 3.0 as 3E0; write plain decimals instead (JSON has no NaN or infinity).
    const double d = v.get_double();
    if (!std::isfinite(d)) {
      os << "null";
      return;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.10g", d);
    os << text;
  } else {
    os << json::serialize(v);
  }
}

json::object summary_ms(const std::vector<double>& v) {
  json::object o;
  o["median"] = round_to(percentile(v, 50), 3);
  o["p90"] = round_to(percentile(v, 90), 3);
  o["min"] = round_to(percentile(v, 0), 3);
  o["mean"] = round_to(mean(v), 3);
  return o;
}

std::vector<double> column(const std::vector<cold_sample>& samples, double cold_sample::*field) {
  std::vector<double> out;
  out.reserve(samples.size());
  for (const auto& s : samples) out.push_back(s.*field);
  return out;
}

// A runtime's figures against the floor's.
struct comparison {
  double cold_ratio = 0;                // median spawn->first /next, runtime / floor
  double overhead_mean_us = 0;          // mean warm time, runtime - floor
  double overhead_median_us = 0;        // median warm time, runtime - floor
  double overhead_round_median_us = 0;  // median over rounds of (round mean - floor's round mean)
  double cpu_overhead_us = 0;           // runtime process CPU time per invocation, runtime - floor
};

double cpu_us_per_invocation(const runtime_under_test& rt) {
  return rt.warm_us.empty() ? 0 : rt.warm_cpu_ns / 1000.0 / static_cast<double>(rt.warm_us.size());
}

comparison compare(const runtime_under_test& rt, const runtime_under_test& floor) {
  comparison c;
  c.cold_ratio = percentile(column(rt.cold, &cold_sample::first_next_ms), 50) /
                 percentile(column(floor.cold, &cold_sample::first_next_ms), 50);
  c.overhead_mean_us = mean(rt.warm_us) - mean(floor.warm_us);
  c.overhead_median_us = percentile(rt.warm_us, 50) - percentile(floor.warm_us, 50);
  std::vector<double> per_round;
  for (std::size_t i = 0; i < rt.round_mean_us.size(); ++i) {
    per_round.push_back(rt.round_mean_us[i] - floor.round_mean_us[i]);
  }
  c.overhead_round_median_us = percentile(per_round, 50);
  c.cpu_overhead_us = cpu_us_per_invocation(rt) - cpu_us_per_invocation(floor);
  return c;
}

json::object runtime_json(const runtime_under_test& rt, const runtime_under_test* floor) {
  json::object r;
  r["executable"] = rt.executable.string();
  std::error_code ec;
  r["executable_bytes"] = static_cast<std::uint64_t>(fs::file_size(rt.executable, ec));
  if (!rt.args.empty()) {
    json::array args;
    for (const auto& arg : rt.args) args.emplace_back(arg);
    r["arguments"] = std::move(args);
  }
  if (!rt.dir.empty()) r["task_root"] = rt.dir.string();
  r["handler"] = rt.handler;
  if (!rt.failure.empty()) {
    r["failed"] = rt.failure;
    return r;
  }
  r["process_exe"] = rt.process_exe;
  json::object cold;
  cold["spawn_to_first_next_ms"] = summary_ms(column(rt.cold, &cold_sample::first_next_ms));
  cold["spawn_to_first_response_ms"] = summary_ms(column(rt.cold, &cold_sample::first_response_ms));
  cold["invoke_round_trip_ms"] = summary_ms(column(rt.cold, &cold_sample::invoke_ms));
  r["cold"] = std::move(cold);
  json::object warm;
  warm["mean_us"] = round_to(mean(rt.warm_us), 2);
  warm["median_us"] = round_to(percentile(rt.warm_us, 50), 2);
  warm["p90_us"] = round_to(percentile(rt.warm_us, 90), 2);
  warm["p99_us"] = round_to(percentile(rt.warm_us, 99), 2);
  warm["runtime_cpu_us_per_invocation"] = round_to(cpu_us_per_invocation(rt), 2);
  warm["process_restarted"] = rt.restarted;
  r["warm"] = std::move(warm);
  r["peak_rss_kb"] = rt.peak_rss_kb;
  r["peak_rss_after_first_invocation_kb"] = percentile(column(rt.cold, &cold_sample::rss_kb), 50);
  r["shared_objects_mapped"] = rt.shared_libraries;
  if (floor != nullptr && &rt != floor) {
    const comparison c = compare(rt, *floor);
    json::object vs;
    vs["cold_first_next_ratio"] = round_to(c.cold_ratio, 2);
    vs["own_overhead_mean_us"] = round_to(c.overhead_mean_us, 2);
    vs["own_overhead_median_us"] = round_to(c.overhead_median_us, 2);
    vs["own_overhead_median_of_rounds_us"] = round_to(c.overhead_round_median_us, 2);
    vs["own_cpu_overhead_us"] = round_to(c.cpu_overhead_us, 2);
    if (is_cpp(rt.name)) {  // the floor goals are the C++ runtimes' (Python's: vs_awslambdaric)
      json::object met;
      met["cold_start"] = c.cold_ratio <= cold_ratio_goal;
      met["own_overhead"] = c.overhead_mean_us <= overhead_goal_us;
      met["peak_rss"] = rt.peak_rss_kb < rss_goal_kb;
      vs["goals_met"] = std::move(met);
    }
    r["vs_floor"] = std::move(vs);
  }
  return r;
}

// A lamella Python or Node runtime against AWS's runtime interface client for its language
// (same handler, same run): the issue's goals.
json::object ric_comparison(const runtime_under_test& rt, const runtime_under_test& ric,
                            const runtime_under_test* floor, const ric_goals& goals) {
  const auto median_of = [](const runtime_under_test& x, double cold_sample::*field) {
    return percentile(column(x.cold, field), 50);
  };
  json::object o;
  o["against"] = std::string(goals.ric);
  const double next_ratio =
      median_of(rt, &cold_sample::first_next_ms) / median_of(ric, &cold_sample::first_next_ms);
  const double resp_ratio = median_of(rt, &cold_sample::first_response_ms) /
                            median_of(ric, &cold_sample::first_response_ms);
  o["cold_first_next_ratio"] = round_to(next_ratio, 3);
  o["cold_first_response_ratio"] = round_to(resp_ratio, 3);
  o["warm_mean_ratio"] = round_to(mean(rt.warm_us) / mean(ric.warm_us), 3);
  o["runtime_cpu_per_invocation_ratio"] =
      round_to(cpu_us_per_invocation(rt) / cpu_us_per_invocation(ric), 3);
  o["peak_rss_ratio"] =
      round_to(static_cast<double>(rt.peak_rss_kb) / static_cast<double>(ric.peak_rss_kb), 3);
  json::object met;
  met["cold_start"] = resp_ratio <= goals.cold_goal;
  if (floor != nullptr) {
    const double own = mean(rt.warm_us) - mean(floor->warm_us);
    const double ric_own = mean(ric.warm_us) - mean(floor->warm_us);
    o["own_overhead_mean_us"] = round_to(own, 2);
    o["ric_own_overhead_mean_us"] = round_to(ric_own, 2);
    o["own_overhead_ratio"] = round_to(own / ric_own, 3);
    const double cpu_own = cpu_us_per_invocation(rt) - cpu_us_per_invocation(*floor);
    const double ric_cpu_own = cpu_us_per_invocation(ric) - cpu_us_per_invocation(*floor);
    o["own_cpu_overhead_ratio"] = round_to(cpu_own / ric_cpu_own, 3);
    met["own_overhead"] = own / ric_own <= goals.overhead_goal;
  }
  met["peak_rss"] = rt.peak_rss_kb <= ric.peak_rss_kb;
  o["goals_met"] = std::move(met);
  return o;
}

// The runtime called `name` if it was measured and did not fail.
const runtime_under_test* find_runtime(const std::vector<runtime_under_test>& runtimes,
                                       std::string_view name) {
  for (const auto& rt : runtimes) {
    if (rt.name == name && rt.failure.empty()) return &rt;
  }
  return nullptr;
}

// The RIC `rt` is compared with, and the goals; nullptr when `rt` is not a lamella Python or
// Node runtime, or when its RIC was not measured or failed.
std::pair<const runtime_under_test*, const ric_goals*> ric_for(
    const std::vector<runtime_under_test>& runtimes, const runtime_under_test& rt) {
  for (const auto& goals : ric_comparisons) {
    if (!rt.name.starts_with(goals.prefix) || rt.name == goals.ric || !rt.failure.empty()) {
      continue;
    }
    const runtime_under_test* ric = find_runtime(runtimes, goals.ric);
    if (ric != nullptr) return {ric, &goals};
  }
  return {nullptr, nullptr};
}

json::object document(const options& opt, std::size_t event_bytes, json::object machine_load,
                      const std::vector<runtime_under_test>& runtimes,
                      const runtime_under_test* floor, const fs::path& node) {
  json::object doc;
  doc["benchmark"] = "lamella_bench";
  doc["lamella_version"] = LAMELLA_VERSION;
  doc["date"] = utc_now();
  doc["build_type"] = LAMELLA_BENCH_BUILD_TYPE;
  doc["build_dir"] = opt.build_dir.string();
  doc["machine"] = machine_info();
  // Steal time (the hypervisor running other guests) inflates wall and CPU figures alike; busy
  // time includes the benchmark itself.
  doc["machine_load"] = std::move(machine_load);
  json::object params;
  params["cold_starts"] = opt.cold;
  params["warm_invocations"] = opt.warm;
  params["warmup_invocations"] = opt.warmup;
  params["warm_rounds"] = opt.rounds;
  params["event_bytes"] = event_bytes;
  params["function_timeout_s"] = 30;
  params["memory_mb"] = 128;
  params["handler"] =
      "noop (cpp-beast, cpp-curl), hello (cpp-beast-hello), app.handler (Python: "
      "samples/python-hello), index.handler (Node: samples/node-hello)";
  doc["parameters"] = std::move(params);
  json::object goals;
  goals["cold_first_next_ratio_max"] = cold_ratio_goal;
  goals["own_overhead_us_max"] = overhead_goal_us;
  goals["peak_rss_kb_below"] = rss_goal_kb;
  for (const auto& g : ric_comparisons) {
    const std::string ric(g.ric.substr(g.prefix.size()));
    goals[std::string(g.language) + "_cold_first_response_ratio_to_" + ric + "_max"] = g.cold_goal;
    goals[std::string(g.language) + "_own_overhead_ratio_to_" + ric + "_max"] = g.overhead_goal;
  }
  doc["goals"] = std::move(goals);
  if (std::any_of(runtimes.begin(), runtimes.end(),
                  [](const auto& rt) { return is_node(rt.name); })) {
    doc["node"] = node_info(node);
  }
  json::object results;
  for (const auto& rt : runtimes) {
    json::object r = runtime_json(rt, floor);
    if (const auto [ric, ric_goal] = ric_for(runtimes, rt); ric != nullptr) {
      r[ric_goal->json_key] = ric_comparison(rt, *ric, floor, *ric_goal);
    }
    results[rt.name] = std::move(r);
  }
  doc["runtimes"] = std::move(results);
  return doc;
}

void print_summary(const std::vector<runtime_under_test>& runtimes,
                   const runtime_under_test* floor) {
  std::fprintf(stderr, "\n%-19s %14s %14s %9s %9s %9s %9s %9s %8s %5s\n", "runtime",
               "first_next ms", "first_resp ms", "warm mean", "warm med", "overhead", "(rounds)",
               "CPU/inv", "peak RSS", "libs");
  std::fprintf(stderr, "%-19s %14s %14s %9s %9s %9s %9s %9s %8s %5s\n", "", "(median/p90)",
               "(median/p90)", "(us)", "(us)", "(mean us)", "(med us)", "(us)", "(KB)", "");
  for (const auto& rt : runtimes) {
    if (!rt.failure.empty()) {
      std::fprintf(stderr, "%-19s FAILED: %s\n", rt.name.c_str(),
                   rt.failure.substr(0, rt.failure.find('\n')).c_str());
      continue;
    }
    const auto next = column(rt.cold, &cold_sample::first_next_ms);
    const auto resp = column(rt.cold, &cold_sample::first_response_ms);
    char overhead[32] = "-";
    char rounds[32] = "-";
    if (floor != nullptr && &rt != floor) {
      const comparison c = compare(rt, *floor);
      std::snprintf(overhead, sizeof overhead, "%+.1f", c.overhead_mean_us);
      std::snprintf(rounds, sizeof rounds, "%+.1f", c.overhead_round_median_us);
    }
    std::fprintf(stderr, "%-19s %6.2f/%-7.2f %6.2f/%-7.2f %9.1f %9.1f %9s %9s %9.1f %8zu %5zu\n",
                 rt.name.c_str(), percentile(next, 50), percentile(next, 90), percentile(resp, 50),
                 percentile(resp, 90), mean(rt.warm_us), percentile(rt.warm_us, 50), overhead,
                 rounds, cpu_us_per_invocation(rt), rt.peak_rss_kb, rt.shared_libraries);
  }
  for (const auto& rt : runtimes) {
    if (floor == nullptr || &rt == floor || !is_cpp(rt.name) || !rt.failure.empty()) continue;
    const comparison c = compare(rt, *floor);
    std::fprintf(stderr,
                 "%s: cold first /next %.2fx floor (goal <= %.0fx: %s); own overhead %+.1f us "
                 "(goal <= %.0f us: %s); peak RSS %zu KB (goal < %zu KB: %s)\n",
                 rt.name.c_str(), c.cold_ratio, cold_ratio_goal,
                 c.cold_ratio <= cold_ratio_goal ? "met" : "MISSED", c.overhead_mean_us,
                 overhead_goal_us, c.overhead_mean_us <= overhead_goal_us ? "met" : "MISSED",
                 rt.peak_rss_kb, rss_goal_kb, rt.peak_rss_kb < rss_goal_kb ? "met" : "MISSED");
  }
  for (const auto& rt : runtimes) {
    const auto [ric, goals] = ric_for(runtimes, rt);
    if (ric == nullptr) continue;
    const json::object c = ric_comparison(rt, *ric, floor, *goals);
    const auto num = [&c](const char* key) {
      return c.contains(key) ? c.at(key).to_number<double>() : std::nan("");
    };
    const double cold = num("cold_first_response_ratio");
    const double own = num("own_overhead_ratio");
    const double rss = num("peak_rss_ratio");
    std::fprintf(stderr,
                 "%s vs %s: cold first response %.2fx (goal <= %.1fx: %s); own overhead %.2fx "
                 "(goal <= %.1fx: %s); peak RSS %.2fx (goal <= 1x: %s)\n",
                 rt.name.c_str(), ric->name.c_str(), cold, goals->cold_goal,
                 cold <= goals->cold_goal ? "met" : "MISSED", own, goals->overhead_goal,
                 own <= goals->overhead_goal ? "met" : "MISSED", rss,
                 rss <= 1.0 ? "met" : "MISSED");
  }
  for (const auto& rt : runtimes) {
    if (rt.restarted) {
      std::fprintf(stderr, "warning: %s restarted during the warm run\n", rt.name.c_str());
    }
  }
}

// The whole benchmark; returns the exit status. Throws std::exception when a runtime fails.
int run(const options& opt) {
  // The runtimes under test, in a fixed order; the floor first so that ratios can refer to it.
  // Python: the same handler (samples/python-hello, app.handler) under lamella's generic
  // bootstrap (embedded CPython), `python -m lamella`, and awslambdaric from PyPI
  // (tests/bench/python/, set up by the lamella_bench_python target).
  // Node: the same handler (samples/node-hello, index.handler) under lamella's generic bootstrap
  // (which execs node on lamella's JS runtime) and under aws-lambda-ric from npm, node started
  // directly on its bin script so that the measured process is node itself
  // (tests/bench/node/, set up by the lamella_bench_node target).
  struct known_runtime {
    std::string name;
    fs::path executable;
    fs::path dir;  // empty = the executable's directory
    std::string handler = "hello";
    std::vector<std::string> args = {};
    std::vector<fs::path> setup = {};  // files the set-up step makes (besides `dir`)
  };
  const fs::path py = opt.build_dir / "tests/bench/python";
  const fs::path node_hello = fs::path(LAMELLA_BENCH_SOURCE_DIR) / "samples/node-hello";
  const fs::path ric = opt.build_dir / "tests/bench/node/node_modules/aws-lambda-ric";
  const fs::path node = find_node();
  const std::vector<known_runtime> known = {
      {"floor", opt.build_dir / "tests/bench/floor_client", {}, "hello"},
      // C++: the sample's noop handler does what the floor does (answer a fixed body without
      // reading the event), so the difference is lamella's own cost; cpp-beast-hello adds the
      // hello handler's JSON work on top.
      {"cpp-beast", opt.build_dir / "samples/cpp-hello/bootstrap", {}, "noop"},
      {"cpp-beast-hello", opt.build_dir / "samples/cpp-hello/bootstrap", {}, "hello"},
      {"cpp-curl", opt.build_dir / "samples/cpp-hello-curl/bootstrap", {}, "noop"},
      {"python-lamella", opt.build_dir / "bootstrap/bootstrap", py / "lamella", "app.handler"},
      {"python-lamella-m", py / "lamella-m/bootstrap", {}, "app.handler"},
      {"python-awslambdaric", py / "awslambdaric/bootstrap", {}, "app.handler"},
      {"node-lamella", opt.build_dir / "bootstrap/bootstrap", node_hello, "index.handler"},
      // aws-lambda-ric 3.x: the handler from argv, the app root from the working directory.
      {"node-awslambdaric",
       node,
       node_hello,
       "index.handler",
       {(ric / "bin/index.mjs").string(), "index.handler"},
       {ric / "bin/index.mjs", ric / "dist/rapid-client.node"}},
  };
  std::vector<std::string> named = opt.only;
  named.insert(named.end(), opt.skip.begin(), opt.skip.end());
  for (const auto& name : named) {
    if (std::none_of(known.begin(), known.end(), [&](const auto& k) { return k.name == name; })) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "" : ", ") + k.name;
      std::string message = "unknown runtime " + name;
      message.append(" (choose ").append(names).append(")");
      usage(message.c_str());
    }
  }
  std::vector<runtime_under_test> runtimes;
  for (const auto& [name, path, dir, handler, args, setup] : known) {
    const bool wanted =
        (opt.only.empty() || std::find(opt.only.begin(), opt.only.end(), name) != opt.only.end()) &&
        std::find(opt.skip.begin(), opt.skip.end(), name) == opt.skip.end();
    if (!wanted) continue;
    std::error_code ec;
    if (is_node(name) && node.empty()) {
      if (!opt.only.empty()) usage("node not found on Lambda's PATH");
      std::fprintf(stderr, "lamella_bench: skipping %s: no node on Lambda's PATH (%s)\n",
                   name.c_str(), std::string(lambda_path).c_str());
      continue;
    }
    if (!fs::is_regular_file(path, ec)) {
      if (!opt.only.empty()) usage(("not built: " + path.string()).c_str());
      std::fprintf(stderr, "lamella_bench: skipping %s: %s is not built\n", name.c_str(),
                   path.c_str());
      continue;
    }
    std::vector<fs::path> needed = setup;
    if (!dir.empty()) needed.push_back(dir);
    const auto missing = std::find_if(needed.begin(), needed.end(),
                                      [&ec](const fs::path& p) { return !fs::exists(p, ec); });
    if (missing != needed.end()) {
      if (!opt.only.empty()) usage(("not set up: " + missing->string()).c_str());
      std::fprintf(stderr, "lamella_bench: skipping %s: %s is not set up\n", name.c_str(),
                   missing->c_str());
      continue;
    }
    runtime_under_test rt;
    rt.name = name;
    rt.executable = path;
    rt.args = args;
    rt.dir = dir;
    rt.handler = handler;
    runtimes.push_back(std::move(rt));
  }
  if (runtimes.empty()) usage("nothing to measure (build the samples and the floor client)");

  const lamella::invoke_request event = make_event(opt.event_size);
  for (auto& rt : runtimes) start_emulator(rt);

  // Runs `fn(rt)` unless `rt` has failed; a runtime that fails now is reported as failed, its
  // emulator (and so its process) destroyed, and the others go on.
  const auto guarded = [](runtime_under_test& rt, const auto& fn) {
    if (!rt.failure.empty()) return;
    try {
      fn(rt);
    } catch (const std::exception& e) {  // runtime_failure, or the emulator's own error
      rt.failure = e.what();
      if (rt.failure.empty()) rt.failure = "failed";
      std::fprintf(stderr, "lamella_bench: %s failed: %s\n", rt.name.c_str(), e.what());
      rt.emu.reset();
    }
  };

  // Visits every runtime once per step, alternating the order from step to step, so that slow
  // drift of the machine (frequency, other load) falls on every runtime alike.
  const auto each_alternating = [&runtimes](int step, const auto& fn) {
    if (step % 2 == 0) {
      for (auto& rt : runtimes) fn(rt);
    } else {
      for (auto it = runtimes.rbegin(); it != runtimes.rend(); ++it) fn(*it);
    }
  };

  // Cold starts, interleaved across runtimes.
  std::fprintf(stderr, "lamella_bench: %d cold starts per runtime...\n", opt.cold);
  const cpu_counters cold_begin = read_cpu_counters();
  for (int i = 0; i < opt.cold; ++i) {
    each_alternating(i, [&](runtime_under_test& rt) {
      guarded(rt, [&](runtime_under_test& r) { cold_start(r, event); });
    });
  }
  const cpu_counters cold_end = read_cpu_counters();

  // Warm: the last cold process of each runtime serves the warm-up, then the measured rounds.
  std::fprintf(stderr, "lamella_bench: %d warm invocations per runtime in %d rounds...\n", opt.warm,
               opt.rounds);
  for (auto& rt : runtimes) {
    guarded(rt, [&](runtime_under_test& r) {
      for (int i = 0; i < opt.warmup; ++i) (void)invoke_once(r, event);
      r.warm_pid = r.emu->last_instance()->pid;
      r.warm_us.reserve(static_cast<std::size_t>(opt.warm));
    });
  }
  const cpu_counters warm_begin = read_cpu_counters();
  for (int round = 0; round < opt.rounds; ++round) {
    const int count = opt.warm / opt.rounds + (round < opt.warm % opt.rounds ? 1 : 0);
    each_alternating(round, [&](runtime_under_test& rt) {
      guarded(rt, [&](runtime_under_test& r) {
        const std::size_t first = r.warm_us.size();
        const double cpu_before = cpu_ns(r.warm_pid);
        for (int i = 0; i < count; ++i) r.warm_us.push_back(invoke_once(r, event));
        r.warm_cpu_ns += cpu_ns(r.warm_pid) - cpu_before;
        r.round_mean_us.push_back(mean(std::vector<double>(
            r.warm_us.begin() + static_cast<std::ptrdiff_t>(first), r.warm_us.end())));
      });
    });
  }
  const cpu_counters warm_end = read_cpu_counters();
  json::object machine_load;
  machine_load["cold"] = disturbance(cold_begin, cold_end);
  machine_load["warm"] = disturbance(warm_begin, warm_end);
  for (auto& rt : runtimes) {
    if (!rt.failure.empty()) continue;
    const auto instance = rt.emu->last_instance();
    rt.peak_rss_kb = instance->peak_rss_kb;
    rt.restarted = instance->pid != rt.warm_pid;
    rt.shared_libraries = count_shared_objects(instance->pid);
    rt.process_exe = process_exe(instance->pid);
  }

  // Results.
  const runtime_under_test* floor = find_runtime(runtimes, "floor");
  std::ostringstream text;
  const double warm_steal = machine_load["warm"].as_object()["steal_percent"].to_number<double>();
  pretty(text, document(opt, event.payload.size(), std::move(machine_load), runtimes, floor, node));
  text << "\n";
  std::cout << text.str() << std::flush;
  if (!opt.out.empty()) {
    std::ofstream out(opt.out);
    out << text.str();
    if (!out) {
      std::fprintf(stderr, "lamella_bench: cannot write %s\n", opt.out.c_str());
      return 1;
    }
  }
  print_summary(runtimes, floor);
  std::fprintf(stderr, "steal time during the warm run: %.1f%% of all CPU time%s\n", warm_steal,
               warm_steal > 2 ? " (the host is busy: expect inflated means; compare medians)" : "");
  // A failed runtime makes the run fail, after the others have been measured and reported.
  const auto failed = std::count_if(runtimes.begin(), runtimes.end(),
                                    [](const auto& rt) { return !rt.failure.empty(); });
  for (const auto& rt : runtimes) {
    if (!rt.failure.empty()) {
      std::fprintf(stderr, "lamella_bench: %s failed: %s\n", rt.name.c_str(), rt.failure.c_str());
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lamella_bench: %s\n", e.what());
    return 1;
  }
}
