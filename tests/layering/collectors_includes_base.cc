// Must compile: the control case, a floor including the one below it.
#include "base/result.h"

int LayeringControl() {
  return mtasts::Result<int>(1).value();
}
