// Turns a title into a URL slug.
function slugify(title) {
  return title.toLowerCase().replace(/ /g, '-');
}

module.exports = { slugify };
