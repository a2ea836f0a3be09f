/*
 * tests/abi/abi_plugins.c - one source, many deliberately broken plugins.
 * Each ABI_CASE_* builds a module the loader must accept (GOOD) or refuse
 * with a precise message (tests/unit/test_loader.c asserts each one).
 */
#include <stddef.h>
#include <string.h>
#include <reflex/plugin.h>

struct cfg {
	char *greeting;
	int64_t times;
};

static const rfx_option opts[] = {
	{"greeting", RFX_OPT_STRING, "hello", 0, 0, 0, NULL, "What to say",
	 offsetof(struct cfg, greeting), NULL},
	{"times", RFX_OPT_INT, "1", RFX_OPT_RANGE, 1, 10, NULL, "How often",
	 offsetof(struct cfg, times), NULL},
#ifdef ABI_CASE_BADSCHEMA
	{"times", RFX_OPT_INT, "2", 0, 0, 0, NULL, "Twice the same name",
	 offsetof(struct cfg, times), NULL},
#endif
	RFX_OPTION_END,
};

static int t_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		  char *err, size_t errlen)
{
	*state = NULL;
	return 0;
}

static rfx_result t_handle(void *state, const rfx_record *rec)
{
	return RFX_OK;
}

#if defined(ABI_CASE_OUTPUT_ONLY) || defined(ABI_CASE_INCIDENT_OUTPUT)
#define KIND RFX_KIND_OUTPUT
#define NAME "abitest"
#else
#define KIND RFX_KIND_INPUT
#define NAME "abitest"
#endif

#ifdef ABI_CASE_INCIDENT_OUTPUT
#define ACCEPTS RFX_REC_INCIDENT
#else
#define ACCEPTS RFX_REC_EVENT
#endif

static const rfx_plugin desc = {
	RFX_PLUGIN_ABI,
	.name = NAME,
	.version = "1.0",
	.description = "ABI test plugin",
	.kind = KIND,
	.accepts = ACCEPTS,
	.emits = RFX_REC_EVENT,
	.options = opts,
	.config_size = sizeof(struct cfg),
	.init = t_init,
	.handle = t_handle,
};

#if defined(ABI_CASE_MAJOR) || defined(ABI_CASE_MINOR) || defined(ABI_CASE_SHORT)
/* A copy with the header fields altered, as an old or new SDK would build. */
static rfx_plugin altered;
__attribute__((visibility("default"))) const rfx_plugin *rfx_plugin_entry(void);
const rfx_plugin *rfx_plugin_entry(void)
{
	memcpy(&altered, &desc, sizeof(altered));
#if defined(ABI_CASE_MAJOR)
	altered.abi_major = RFX_ABI_MAJOR + 1;
#elif defined(ABI_CASE_MINOR)
	altered.abi_minor = RFX_ABI_MINOR + 1;
#else
	altered.size = (uint32_t)offsetof(rfx_plugin, init);
#endif
	return &altered;
}
#elif defined(ABI_CASE_NOSYM)
/* Exports something, but not the entry point. */
__attribute__((visibility("default"))) const rfx_plugin *plugin_entry(void);
const rfx_plugin *plugin_entry(void)
{
	return &desc;
}
#else
RFX_PLUGIN_DEFINE(desc)
#endif
