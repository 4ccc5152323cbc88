"""Role homes: the bureau workbench (a director's dashboard) and, for every other role, a
home page that says what that role can do next. See docs/workbench.md."""
