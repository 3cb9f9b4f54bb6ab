import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "e2e", "bench"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // View models backed by the SDK are opened and disposed in effects,
      // and searches debounce in them: setting state there is the point.
      "react-hooks/set-state-in-effect": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["matrix-js-sdk", "matrix-js-sdk/*"],
              message: "Only web/src/matrix/ may import matrix-js-sdk.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/matrix/**/*.{ts,tsx}"],
    rules: { "no-restricted-imports": "off" },
  },
);
