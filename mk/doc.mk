# mk/doc.mk: the API reference: `make doc` runs LDoc (Debian lua-ldoc) on config.ld into DOC_DIR; any LDoc warning fails it.
# The HTML (DOC_DIR/index.html; build/ is not in git) has every public function of hy3d, hy3d.Client
# and hy3d.Error with its parameters and returns, from the `---` comments and their @tparam/@treturn
# tags in lua/hy3d/ (spec/tooling/ldoc_spec.lua checks it against the code). The suite needs
# lua-ldoc too (DEPS_TEST, below). Included from the Makefile.
DOC_DIR ?= build/doc
LDOC    ?= ldoc
DEPS_DOC = lua-ldoc
DEPS_TEST += $(DEPS_DOC)

deps-doc:
	@scripts/deps.sh $(DEPS_DOC)

doc: deps-doc
	@command -v $(LDOC) >/dev/null 2>&1 || { echo "make doc: $(LDOC) not found (Debian/Ubuntu: sudo apt-get install lua-ldoc)" >&2; exit 1; }
	@rm -rf $(DOC_DIR)
	@$(LDOC) --fatalwarnings -q -d $(DOC_DIR) . || { echo "make doc: LDoc failed (its warnings are above)" >&2; exit 1; }
	@echo "doc: $(DOC_DIR)/index.html"

.PHONY: doc deps-doc
