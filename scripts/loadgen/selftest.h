// Checks of the load client's own parsers and histogram, run with
// `pb-loadgen --self-test` (the benchmark script runs it before measuring).
#pragma once

namespace pbl {
bool run_self_test();
}
