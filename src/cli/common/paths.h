/*
 * Where mibandctl keeps its files: the XDG base directories, with one
 * rule for all of them (key store, activity database, emulated band).
 *
 * $XDG_<KIND>_HOME when it is an absolute path (XDG: a relative value
 * is ignored), else $HOME/<default>.  HOME must be an absolute path to a
 * directory that exists: mibandctl creates what it needs below HOME
 * (0700, as XDG asks for its base directories) but never HOME itself,
 * and without a usable place it fails with a message naming the
 * variables to set (MIBAND_E_IO, exit status 8).
 */
#ifndef MB_PATHS_H
#define MB_PATHS_H

#include <stddef.h>

/*
 * buf = "$<xdg_var>/<sub>" or "$HOME/<home_default>/<sub>".
 * 0, or MIBAND_E_IO with a message (no usable base, path too long).
 */
int mb_xdg_dir(const char *xdg_var, const char *home_default, const char *sub,
	       char *buf, size_t cap);

/*
 * Creates path and its missing parents with mode 0700 (existing ones are
 * left alone).  0, or MIBAND_E_IO with a message naming the directory.
 */
int mb_make_dirs(const char *path);

#endif
