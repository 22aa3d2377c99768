// A module-boundary fixture: upstream may include config.
#include "config/config.h"
