// How many widgets a line of text asks for.
exports.parseCount = (text) => Number.parseInt(text, 10);
