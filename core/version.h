/* core/version.h - the version string; configure passes PACKAGE_VERSION. */
#ifndef RFX_CORE_VERSION_H
#define RFX_CORE_VERSION_H
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif
#define RFX_VERSION PACKAGE_VERSION
#ifndef RFX_PLUGIN_DIR
#define RFX_PLUGIN_DIR "/usr/local/lib/reflex"
#endif
#endif
