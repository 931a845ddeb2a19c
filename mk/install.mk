# make install / make uninstall, included by the Makefile.
#
#   make install PREFIX=/usr/local DESTDIR=
#
# Installs the collector, the tool, the library (soname libfaultguard.so.0),
# its header and pkg-config file, the Python package (when it was built:
# its *.py files, whatever bytecode a Python run left beside them staying
# behind, and a link to the installed library instead of a second copy),
# the man pages, an example config, the systemd unit and the Prometheus
# alert rules. `make uninstall`
# with the same variables removes exactly that.

BINDIR       ?= $(PREFIX)/bin
SBINDIR      ?= $(PREFIX)/sbin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR       ?= $(PREFIX)/share/man
# The Prometheus alert rules (dist/prometheus), for a fleet's rule_files.
RULESDIR     ?= $(PREFIX)/share/faultguard/prometheus
PYTHONDIR    ?= $(PREFIX)/lib/python3/dist-packages
# The collector reads /etc/faultguard/faultguardd.conf whatever the prefix.
SYSCONFDIR   ?= /etc
# A system install (PREFIX=/usr) puts the unit where systemd's pkg-config
# file says (/lib/systemd/system on Debian 12, where debhelper enables it);
# any other prefix under it (systemd looks in /usr/local/lib/systemd/system).
SYSTEMD_UNITDIR := $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
UNITDIR      ?= $(if $(filter /usr,$(PREFIX)),$(or $(SYSTEMD_UNITDIR),/lib/systemd/system),$(PREFIX)/lib/systemd/system)

D := $(DESTDIR)
MAN_PAGES := man/faultguardctl.1 man/faultguard.3 man/faultguardd.8

# Every file install puts, as uninstall removes them.
INSTALLED := $(D)$(SBINDIR)/faultguardd $(D)$(BINDIR)/faultguardctl \
	$(D)$(LIBDIR)/libfaultguard.so.$(VERSION) $(D)$(LIBDIR)/libfaultguard.so.$(SOVER) \
	$(D)$(LIBDIR)/libfaultguard.so $(D)$(LIBDIR)/libfaultguard.a \
	$(D)$(INCLUDEDIR)/faultguard.h $(D)$(PKGCONFIGDIR)/faultguard.pc \
	$(foreach m,$(MAN_PAGES),$(D)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
	$(D)$(SYSCONFDIR)/faultguard/faultguardd.conf.example \
	$(D)$(UNITDIR)/faultguardd.service $(D)$(RULESDIR)/faultguard.rules.yml

SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g'

# INSTALL_DEPS= installs what BUILD holds without building anything: the
# install test uses it, so that it never rebuilds a build directory that
# was made with other flags (the sanitizer builds).
INSTALL_DEPS ?= all

install: $(INSTALL_DEPS)
	$(call msg,INSTALL,$(D)$(PREFIX))
	$(Q)install -d $(D)$(SBINDIR) $(D)$(BINDIR) $(D)$(LIBDIR) $(D)$(INCLUDEDIR) \
		$(D)$(PKGCONFIGDIR) $(D)$(MANDIR)/man1 $(D)$(MANDIR)/man3 $(D)$(MANDIR)/man8 \
		$(D)$(SYSCONFDIR)/faultguard $(D)$(UNITDIR) $(D)$(RULESDIR)
	$(Q)install -m 0755 $(BUILD)/faultguardd $(D)$(SBINDIR)/faultguardd
	$(Q)install -m 0755 $(BUILD)/faultguardctl $(D)$(BINDIR)/faultguardctl
	$(Q)install -m 0755 $(BUILD)/libfaultguard.so.$(VERSION) $(D)$(LIBDIR)/
	$(Q)ln -sf libfaultguard.so.$(VERSION) $(D)$(LIBDIR)/libfaultguard.so.$(SOVER)
	$(Q)ln -sf libfaultguard.so.$(SOVER) $(D)$(LIBDIR)/libfaultguard.so
	$(Q)install -m 0644 $(BUILD)/libfaultguard.a $(D)$(LIBDIR)/
	$(Q)install -m 0644 include/faultguard.h $(D)$(INCLUDEDIR)/
	$(Q)$(SUBST) dist/faultguard.pc.in > $(D)$(PKGCONFIGDIR)/faultguard.pc
	$(Q)for m in $(MAN_PAGES); do \
		install -m 0644 $$m $(D)$(MANDIR)/man$${m##*.}/; done
	$(Q)install -m 0644 etc/faultguard/faultguardd.conf.example $(D)$(SYSCONFDIR)/faultguard/
	$(Q)install -m 0644 dist/prometheus/faultguard.rules.yml $(D)$(RULESDIR)/
	$(Q)$(SUBST) dist/faultguardd.service.in > $(D)$(UNITDIR)/faultguardd.service
	$(Q)chmod 0644 $(D)$(PKGCONFIGDIR)/faultguard.pc $(D)$(UNITDIR)/faultguardd.service
	$(Q)if [ -d $(BUILD)/python/faultguard ]; then \
		install -d $(D)$(PYTHONDIR)/faultguard && \
		install -m 0644 $(BUILD)/python/faultguard/*.py $(D)$(PYTHONDIR)/faultguard/ && \
		ln -sf $$(realpath -m --relative-to=$(PYTHONDIR)/faultguard \
			$(LIBDIR)/libfaultguard.so.$(SOVER)) $(D)$(PYTHONDIR)/faultguard/libfaultguard.so; fi

uninstall:
	$(call msg,UNINSTALL,$(D)$(PREFIX))
	$(Q)rm -f $(INSTALLED)
	$(Q)rm -rf $(D)$(PYTHONDIR)/faultguard
	$(Q)rmdir $(D)$(SYSCONFDIR)/faultguard 2>/dev/null || true
	$(Q)rmdir $(D)$(RULESDIR) $(dir $(D)$(RULESDIR)) 2>/dev/null || true
