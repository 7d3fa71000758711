// PLACEHOLDER (issue 13 contract): the certificate store replaces this file.
enum CertificateStorePlaceholder {}
