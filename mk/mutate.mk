# mk/mutate.mk — `make mutate`, the project's own mutation testing (included by the Makefile).

# mutate: the project's own mutation testing (no tool for it is packaged for Lua or this
# C). mutate/run.lua copies the tracked tree to build/mutate/tree, builds the 5.4 core there once,
# runs each mutant's specs unmutated (failing, or matching no test: BROKEN-BASELINE), then applies
# each mutant of mutate/mutants.lua (one small bug in one C or Lua file), rebuilds when it is C, runs
# its few specs with busted under a time limit and restores the file. It prints the score, killed /
# (mutants - equivalent - stale - broken baseline), and the survivors, and writes MUTATION.md (a
# subset: build/mutate/MUTATION.md). About 17 minutes on two cores: CI does not run it. It fails
# below MUTATE_MIN percent, with a STALE mutant (its text is no longer in its file: fix the entry)
# or with a BROKEN-BASELINE one.
# MUTANTS=id1,id2 runs a subset; MUTATE_DRY=1 only checks for stale entries; MUTATE_BASELINE=1 stops
# after the unmutated runs; MUTATE_MERGE=1 with MUTANTS reruns those (a fixed stale entry, a new
# mutant) and merges them into the last full run's results (mutate/results.lua, committed), rewriting
# MUTATION.md for the whole list: a mutant changed since that run and not rerun fails the target
# (MUTATE_MERGE=1 alone only rewrites MUTATION.md, e.g. after editing the notes).
MUTANTS        ?=
MUTATE_MIN     ?= 90
MUTATE_TIMEOUT ?= 300
mutate: deps-test
	@MUTANTS="$(MUTANTS)" MUTATE_MIN="$(MUTATE_MIN)" MUTATE_TIMEOUT="$(MUTATE_TIMEOUT)" MUTATE_DRY="$(MUTATE_DRY)" \
	  MUTATE_BASELINE="$(MUTATE_BASELINE)" MUTATE_MERGE="$(MUTATE_MERGE)" \
	  LUA=$(SANDBOX_LUA) BUSTED=$(BUSTED) SANDBOX_LUA=$(SANDBOX_LUA) $(SANDBOX_LUA) mutate/run.lua

.PHONY: mutate
