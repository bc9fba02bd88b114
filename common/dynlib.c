// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include "dynlib.h"
#include "util.h"

int dynlib_load(const char *const *sonames, const char *const *names, void **fns, size_t n,
		const char *for_what)
{
	const char *soname = sonames[0];
	void *lib = NULL;

	for (size_t i = 0; sonames[i] && !lib; i++)
		lib = dlopen(soname = sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		err_msg("%s needs %s: %s", for_what, sonames[0], dlerror());
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		fns[i] = dlsym(lib, names[i]);
		if (!fns[i]) {
			err_msg("%s needs %s from %s: %s", for_what, names[i], soname, dlerror());
			dlclose(lib);
			return -1;
		}
	}
	return 0; /* open for the rest of the run: the functions stay in use until exit */
}
