"""The hostile-input suite: each attack found in review (issue 10) replayed and refused."""
