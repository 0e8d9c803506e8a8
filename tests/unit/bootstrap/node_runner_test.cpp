#include "node_runner.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lamella {
namespace {

/// A scratch directory removed at the end of the test.
struct scratch_dir {
  std::filesystem::path path;
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "lamella-node-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~scratch_dir() { std::filesystem::remove_all(path); }
  /// Creates `name` with `mode`.
  std::filesystem::path file(const std::string& name, mode_t mode) const {
    auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << "#!/bin/sh\n";
    ::chmod(p.c_str(), mode);
    return p;
  }
};

TEST(find_node, takes_the_first_executable_node_on_the_path) {
  const scratch_dir d;
  d.file("a/node", 0644);  // not executable: skipped
  const auto b = d.file("b/node", 0755);
  d.file("c/node", 0755);
  const std::string path = (d.path / "none").string() + "::" + (d.path / "a").string() + ":" +
                           (d.path / "b").string() + ":" + (d.path / "c").string();
  const auto found = find_node(config{}, path);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, b);
  EXPECT_FALSE(find_node(config{}, (d.path / "a").string()));
  EXPECT_FALSE(find_node(config{}, ""));
}

TEST(find_node, lamella_node_overrides_the_path) {
  config c;
  c.node_executable = "/opt/node/bin/node";
  EXPECT_EQ(find_node(c, "/usr/bin"), std::filesystem::path("/opt/node/bin/node"));
}

TEST(node_runtime_path, defaults_to_the_package_next_to_the_executable) {
  config c;
  const auto p = node_runtime_path(c);
  EXPECT_EQ(p.filename(), "lamella-node.js");
  EXPECT_EQ(p.parent_path().parent_path().filename(), "lamella-node");
  c.node_runtime = "/x/rt.js";
  EXPECT_EQ(node_runtime_path(c), std::filesystem::path("/x/rt.js"));
}

TEST(node_arguments, size_the_heap_to_the_function_memory_as_lambda_does) {
  using args = std::vector<std::string>;
  EXPECT_EQ(node_arguments(128, ""), (args{"--max-http-header-size=81920",
                                           "--max-semi-space-size=6", "--max-old-space-size=116"}));
  EXPECT_EQ(node_arguments(1024, "")[2], "--max-old-space-size=922");
  // Unknown memory, or NODE_OPTIONS sizing the heap itself: V8's defaults / the user's choice.
  EXPECT_EQ(node_arguments(std::nullopt, "").size(), 1u);
  EXPECT_EQ(node_arguments(128, "--max-old-space-size=64").size(), 1u);
  EXPECT_EQ(node_arguments(128, "--enable-source-maps").size(), 3u);
}

}  // namespace
}  // namespace lamella
