// PLACEHOLDER (issue 13 contract): the certificate store's tests replace this file.
