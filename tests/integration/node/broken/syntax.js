// A syntax error: the runtime reports Runtime.UserCodeSyntaxError.
exports.handler = async (event) => {
  return event +;
};
