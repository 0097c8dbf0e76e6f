// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// libes.so exports only what is marked ES_API: the es:: public API in these
// headers. Everything else in the library is hidden (built with
// -fvisibility=hidden), so its internals can change without breaking
// programs linked against it.

#if defined(ES_STATIC)
#define ES_API
#else
#define ES_API __attribute__((visibility("default")))
#endif
