// The linter of the pages' scripts, run by scripts/lint-js over every */static/*.js. Each
// script is a plain browser script (no modules, no build step) that keeps its names inside
// one function and shares only what it hangs on window (window.Staff, window.Sup).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".venv/", "build/", "dist/"] },
  js.configs.recommended,
  {
    files: ["**/static/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "all" }],
      "no-undef": "error",
      "no-implicit-globals": "error",
      "no-var": "error",
      "prefer-const": "error",
      "eqeqeq": ["error", "always", { null: "ignore" }],
      "no-shadow": "error",
      "no-use-before-define": ["error", { functions: false, classes: true, variables: false }],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-script-url": "error",
      "no-alert": "off",
    },
  },
];
