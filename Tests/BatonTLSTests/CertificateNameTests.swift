import BatonProxy
import BatonTLS
import Testing

/// Which names a certificate covers, and which the local CA may issue for.
@Suite struct CertificateNameTests {
    @Test func aWildcardCoversExactlyOneLeftMostLabel() {
        #expect(CertificateName.covers("a.example.com", "a.example.com"))
        #expect(CertificateName.covers("A.Example.COM.", "a.example.com"))
        #expect(CertificateName.covers("*.example.com", "a.example.com"))
        #expect(CertificateName.covers("*.example.com", "*.example.com"))
        #expect(!CertificateName.covers("*.example.com", "example.com"))
        #expect(!CertificateName.covers("*.example.com", "a.b.example.com"))
        #expect(!CertificateName.covers("a*.example.com", "ab.example.com"))
        #expect(!CertificateName.covers("*.*.example.com", "a.b.example.com"))
        #expect(!CertificateName.covers("a.example.com", "*.example.com"))
        #expect(!CertificateName.covers("b.example.com", "a.example.com"))
    }

    @Test func storeNamesAreDNSNamesOrWildcards() {
        #expect(CertificateName.normalize("App.Example.com.") == "app.example.com")
        #expect(CertificateName.normalize("*.example.com") == "*.example.com")
        for bad in ["", "../etc", "a/b", "a..b", "*", "a.*.com", "x y", "-a.com", "a_b.com"] {
            #expect(CertificateName.normalize(bad) == nil, "\(bad)")
        }
        #expect(CertificateName.wildcard(above: "a.b.com") == "*.b.com")
        #expect(CertificateName.wildcard(above: "localhost") == nil)
        #expect(CertificateName.wildcard(above: "*.b.com") == nil)
    }

    @Test func theLocalCAIssuesOnlyForWhatARouteServes() {
        let routes = RouteTable(["app.example.com", "*.wild.example.com", "pr-1.preview.localhost"].map { ($0, Route(app: "a", target: nil)) })
        let served = ServedNames(previewDomain: "preview.localhost")
        #expect(served.issuingName(for: "app.example.com", routes: routes) == "app.example.com")
        #expect(served.issuingName(for: "x.wild.example.com", routes: routes) == "*.wild.example.com")
        #expect(served.issuingName(for: "pr-1.preview.localhost", routes: routes) == "*.preview.localhost")
        #expect(served.issuingName(for: "a.b.wild.example.com", routes: routes) == nil)
        #expect(served.issuingName(for: "pr-2.preview.localhost", routes: routes) == nil)
        #expect(served.issuingName(for: "other.example.com", routes: routes) == nil)
        #expect(served.issuingName(for: "*.wild.example.com", routes: routes) == nil)
    }

    @Test func aCertificateMayBeAddedForWhatAnAppServes() {
        let routes = RouteTable(["app.example.com", "*.wild.example.com"].map { ($0, Route(app: "a", target: nil)) })
        let served = ServedNames(previewDomain: "preview.localhost")
        #expect(served.serves("app.example.com", routes: routes))
        #expect(served.serves("*.example.com", routes: routes), "one label above an app's host")
        #expect(served.serves("*.wild.example.com", routes: routes))
        #expect(served.serves("x.wild.example.com", routes: routes))
        #expect(served.serves("*.preview.localhost", routes: routes), "previews to come")
        #expect(!served.serves("other.example.com", routes: routes))
        #expect(!served.serves("*.other.com", routes: routes))
        #expect(!served.serves("*.com", routes: routes))
    }
}
