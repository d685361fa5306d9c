// Must not compile: collectors/ sits below config/ (docs/ARCHITECTURE.md).
#include "config/config.h"
