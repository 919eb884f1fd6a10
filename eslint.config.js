'use strict'

// ESLint's recommended rules for every JS file we write; generated and vendored code is ignored.
const js = require('@eslint/js')
const globals = require('globals')

module.exports = [
  { ignores: ['node_modules/', 'target/', '.cache/', '**/*.d.ts', '**/*.d.mts'] },
  js.configs.recommended,
  {
    files: ['**/*.js', 'bin/rheapdump'],
    languageOptions: { sourceType: 'commonjs', ecmaVersion: 2024, globals: { ...globals.node } },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', ecmaVersion: 2024, globals: { ...globals.node } },
  },
]
