// A test file's own helpers go in `namespace PB_FILE_LOCAL { ... }`.
//
// In a normal build that is an anonymous namespace. The test executables are
// unity builds (CMakeLists.txt, pb_unity_build): there CMake defines
// PB_FILE_LOCAL to a name unique to each file (UNITY_BUILD_UNIQUE_ID), so
// that two test files may both have a `Fixture` or a `config()` without
// clashing. A test file keeps all of its code, its TESTs included, inside
// that namespace: names are then found in the file's own namespace first,
// never in another file's.
#pragma once

#ifndef PB_FILE_LOCAL
#define PB_FILE_LOCAL
#endif
