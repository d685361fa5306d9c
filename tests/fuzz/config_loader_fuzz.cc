// libFuzzer target: the strict YAML config loader, from text (no file is read).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  const std::string text(fuzz::AsText(data, size));
  auto config = config::ParseConfig(text, "fuzz.yaml");
  if (!config) {
    fuzz::Require(config.error().message.rfind("fuzz.yaml", 0) == 0, "errors name the file",
                  config.error().message);
    return 0;
  }
  const auto& schedule = config.value().schedule;
  fuzz::Require(schedule.min_interval.count() > 0, "min_interval > 0");
  fuzz::Require(schedule.max_interval >= schedule.min_interval, "max >= min interval");
  return 0;
}
