// Must not compile: config/ sits below agent/ (docs/ARCHITECTURE.md).
#include "agent/app.h"
