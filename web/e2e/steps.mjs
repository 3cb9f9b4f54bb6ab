// Scenario steps on the real client, named after what a person does. They
// find elements by role and accessible name (the French ones, since the tests
// run in French), as listed in docs/web-client.md, "Test hooks".
//
// steps(user, state) returns commands; `user(name)` gives { page, context }.
export function steps(user, state) {
  void user;
  void state;
  return {};
}
