"""Who is asking, in Confluence's terms: identity links, group memberships, and the reader they make."""
