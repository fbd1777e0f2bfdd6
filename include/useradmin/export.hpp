// Symbol visibility for the useradmin libraries.
#ifndef USERADMIN_EXPORT_HPP
#define USERADMIN_EXPORT_HPP

// Static builds (the default) need no decoration. Shared builds compile with
// hidden visibility, so every public entry point is marked USERADMIN_API:
// USERADMIN_SHARED_LIBRARY is set for the library and its users,
// USERADMIN_COMPILE_LIBRARY only while the library itself is being compiled.
#if defined(USERADMIN_SHARED_LIBRARY)
#if defined(USERADMIN_COMPILE_LIBRARY)
#define USERADMIN_API __attribute__((visibility("default")))
#else
#define USERADMIN_API
#endif
#else
#define USERADMIN_API
#endif

#endif  // USERADMIN_EXPORT_HPP
