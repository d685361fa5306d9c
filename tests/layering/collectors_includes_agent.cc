// Must not compile: collectors/ sits below agent/ (docs/ARCHITECTURE.md). The layering test
// builds this with the collectors floor's include path and expects the include to be missing.
#include "agent/app.h"
