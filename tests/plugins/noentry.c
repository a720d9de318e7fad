/* noentry.c -- test plugin that forgot SLUICE_PLUGIN_DEFINE: no entry
 * point, so it must be refused with that reason. */
#include "sluice/plugin.h"

int sluice_plugin_entry_misspelled(void);
__attribute__((visibility("default"))) int sluice_plugin_entry_misspelled(void)
{
    return 0;
}
