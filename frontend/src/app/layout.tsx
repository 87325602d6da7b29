import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "NEOSALE", template: "%s · NEOSALE" },
  description: "NEOSALE product catalogue and sales enquiries.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="site-header">
          <div className="container header-inner">
            <Link href="/" className="brand">
              NEOSALE
            </Link>
            <nav aria-label="Main">
              <Link href="/">Products</Link>
              <Link href="/leads">Leads</Link>
            </nav>
          </div>
        </header>
        <main className="container">{children}</main>
        <footer className="site-footer">
          <div className="container">© NEOSALE</div>
        </footer>
      </body>
    </html>
  );
}
