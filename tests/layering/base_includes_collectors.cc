// Must not compile: base/ sits below every other floor (docs/ARCHITECTURE.md).
#include "collectors/report/report.h"
