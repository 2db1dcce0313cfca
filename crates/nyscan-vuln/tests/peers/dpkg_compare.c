/* Differential-test peer: compares version pairs with libdpkg, the library behind
 * `dpkg --compare-versions`, and the same rules for bad syntax (warnings compare anyway,
 * errors do not). Reads "A<TAB>B" lines on stdin, writes "<", "=", ">" or "E reason". */
#define LIBDPKG_VOLATILE_API 1
#include <stdio.h>
#include <string.h>
#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/version.h>

static int parse(struct dpkg_version *v, const char *s)
{
	struct dpkg_error err = DPKG_ERROR_INIT;

	if (*s == '\0' || strcmp(s, "<unknown>") == 0) {
		dpkg_version_blank(v);
		return 0;
	}
	if (parseversion(v, s, &err) < 0 && err.type == DPKG_MSG_ERROR) {
		printf("E %s\n", err.str);
		return -1;
	}
	return 0;
}

int main(void)
{
	static char line[65536];

	while (fgets(line, sizeof(line), stdin)) {
		struct dpkg_version a, b;
		char *tab;
		int r;

		line[strcspn(line, "\n")] = '\0';
		tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		if (parse(&a, line) < 0 || parse(&b, tab + 1) < 0)
			continue;
		r = dpkg_version_compare(&a, &b);
		puts(r < 0 ? "<" : r > 0 ? ">" : "=");
	}
	return 0;
}
